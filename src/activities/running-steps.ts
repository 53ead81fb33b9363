/**
 * The steps running in this process, by work folder: what the metrics show (checkpoint age per running
 * step) and what the temp-folder cleaner leaves alone. Process-wide, like the circuit breakers.
 *
 * Workers on one machine may share a data folder, so a running step also claims its work folder on
 * disk (`.running`, the worker's pid): a cleaner in another worker leaves it alone while that worker
 * lives, and clears it once the worker is gone (a SIGKILL leaves the claim behind; nothing runs there).
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface RunningStep {
  /** `waiting`: for a step slot of its worker (fewer in degraded and minimal mode); `running`: let in. */
  state: 'waiting' | 'running';
  taskId: string;
  stepId: string;
  item: number | null;
  /** When this attempt started, epoch ms. */
  startedAt: number;
  /** When the step last saved a cursor (`ctx.checkpoint`), epoch ms; its start until then. */
  checkpointAt: number;
}

export const runningSteps = new Map<string, RunningStep>();

const CLAIM = '.running';

/** Marks `workDir` as in use by this process (the folder exists). */
export async function claimWorkDir(workDir: string): Promise<void> {
  await writeFile(join(workDir, CLAIM), String(process.pid));
}

/** Drops this process's claim on `workDir`; one that another worker took since is left. */
export async function releaseWorkDir(workDir: string): Promise<void> {
  const path = join(workDir, CLAIM);
  if ((await readFile(path, 'utf8').catch(() => '')) === String(process.pid))
    await rm(path, { force: true }).catch(() => undefined);
}

/** Whether a live process other than this one claims `workDir` (a step of another worker runs there). */
export async function claimedElsewhere(workDir: string): Promise<boolean> {
  const pid = Number(await readFile(join(workDir, CLAIM), 'utf8').catch(() => ''));
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // alive, another user's
  }
}
