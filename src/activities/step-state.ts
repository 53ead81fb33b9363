/**
 * A step's latest heartbeat details, also kept in a file of its work folder after each model call.
 * The SDK sends heartbeats at most every 80 % of the heartbeat timeout, so a worker killed between
 * two leaves the server a cursor up to that old: calls paid for in that window would be paid again by
 * the retry. The retry on the same machine reads the file and takes whichever copy is newer (`seq`).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isStepHeartbeat, type StepHeartbeat } from '../shared/step-io';

const FILE = join('.longrun', 'step-state.json');

interface SavedState {
  /** The activity these details belong to: `<workflowId>/<runId>/<activityId>`. */
  activity: string;
  heartbeat: StepHeartbeat;
}

/** Names one activity (one schedule of a step, every attempt of it) among all a machine has run. */
export function activityKeyOf(info: {
  workflowExecution?: { workflowId: string; runId: string } | undefined;
  activityId: string;
}): string {
  const run = info.workflowExecution;
  return run ? `${run.workflowId}/${run.runId}/${info.activityId}` : info.activityId;
}

/** The details saved for `activity` in `workDir`, or undefined (none, another activity's, unreadable). */
export async function readStepState(workDir: string, activity: string): Promise<StepHeartbeat | undefined> {
  try {
    const saved = JSON.parse(await readFile(join(workDir, FILE), 'utf8')) as Partial<SavedState>;
    return saved.activity === activity && isStepHeartbeat(saved.heartbeat) ? saved.heartbeat : undefined;
  } catch {
    return undefined;
  }
}

/** Saves the details atomically (a crash leaves the old file or the new one, never half of one). */
export async function writeStepState(
  workDir: string,
  activity: string,
  heartbeat: StepHeartbeat
): Promise<void> {
  const target = join(workDir, FILE);
  const temp = `${target}.${randomBytes(4).toString('hex')}.tmp`;
  await mkdir(join(workDir, '.longrun'), { recursive: true });
  await writeFile(temp, JSON.stringify({ activity, heartbeat } satisfies SavedState));
  await rename(temp, target);
}

/** Removes the file once its activity has ended (a file of another activity is left alone). */
export async function clearStepState(workDir: string, activity: string): Promise<void> {
  if (await readStepState(workDir, activity)) await rm(join(workDir, FILE), { force: true });
}

/** The newer of two copies of a step's details (higher `seq`; the server's copy on a tie). */
export function newerState(server: unknown, local: StepHeartbeat | undefined): unknown {
  if (!local) return server;
  if (!isStepHeartbeat(server)) return local;
  return (local.seq ?? 0) > (server.seq ?? 0) ? local : server;
}
