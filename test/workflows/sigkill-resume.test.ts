import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeArrayFromPayloads } from '@temporalio/common/lib/internal-non-workflow';
import { analyzeSource } from '../../src/activities/agents/codebase-review/analysis';
import { LongrunClient } from '../../src/client';
import { checkpointIntervalFor } from '../../src/shared/durability';
import { codebaseReviewSpec } from '../../src/shared/plans';
import { isStepHeartbeat, type StepHeartbeat } from '../../src/shared/step-io';
import { readAudit } from '../support/audit-log';
import { generateRepo, listFiles } from '../support/fixture-repo';
import { useServerAndWorkers } from '../support/temporal';
import { waitFor } from '../support/worker-process';

const FILES = 2500;
const LINES_PER_FILE = 2500;
const HEARTBEAT_TIMEOUT_MS = 2_000;
const CHECKPOINT_INTERVAL_MS = checkpointIntervalFor(HEARTBEAT_TIMEOUT_MS);
const TASK_QUEUE = 'sigkill-test';

const t = useServerAndWorkers('sigkill', (d) => generateRepo(join(d, 'repo'), FILES, LINES_PER_FILE));

async function recordedCursor(longrun: LongrunClient, taskId: string): Promise<StepHeartbeat | undefined> {
  const description = await longrun.client.workflow.getHandle(taskId).describe();
  const pending = description.raw.pendingActivities?.[0];
  if (!pending?.heartbeatDetails?.payloads?.length) return undefined;
  const [details] = await decodeArrayFromPayloads(
    longrun.client.options.loadedDataConverter,
    pending.heartbeatDetails.payloads
  );
  return isStepHeartbeat(details) ? details : undefined;
}

describe('a worker killed with SIGKILL in the middle of a step', () => {
  it('resumes on a new worker process from the last recorded cursor and redoes at most one checkpoint interval', async () => {
    const taskId = 'sigkill-review';
    const auditLog = join(t.dir, 'audit.jsonl');
    const workerEnv = {
      TEMPORAL_ADDRESS: t.env.address,
      LONGRUN_TASK_QUEUE: TASK_QUEUE,
      LONGRUN_DATA_DIR: join(t.dir, 'data'), // both workers run on this machine and share it
    };
    const longrun = new LongrunClient(t.env.client, TASK_QUEUE);
    const first = t.spawn(workerEnv);
    await longrun.start(
      codebaseReviewSpec({
        taskId,
        root: join(t.dir, 'repo'),
        durability: 'high',
        heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS,
        auditLog,
      })
    );

    // Kill once the server has recorded a cursor well inside the analyze step.
    await waitFor(
      'a recorded cursor past 25% of the files',
      async () => {
        const hb = await recordedCursor(longrun, taskId);
        const next = (hb?.cursor as { next?: number } | undefined)?.next ?? 0;
        return next >= FILES / 4 ? next : undefined;
      },
      90_000,
      50
    );
    first.child.kill('SIGKILL');
    await first.exited;
    const killedAt = Date.now();
    const beforeKill = readAudit(auditLog);
    const cursor = await recordedCursor(longrun, taskId);
    const resumeAt = (cursor?.cursor as { next: number }).next;
    expect(beforeKill.length).toBeLessThan(FILES); // really killed in the middle of the step
    expect(resumeAt).toBeGreaterThanOrEqual(FILES / 4);

    const second = t.spawn(workerEnv);
    const result = await longrun.result(taskId);
    const recoveredAfterMs = Date.now() - killedAt;
    second.child.kill('SIGTERM');

    const audit = readAudit(auditLog);
    const byFirst = audit.filter((a) => a.pid === first.pid);
    const bySecond = audit.filter((a) => a.pid === second.pid);
    const analyzedBySecond = new Set(bySecond.map((a) => a.index));
    const redone = byFirst.filter((a) => analyzedBySecond.has(a.index));

    // Every file analyzed; none before the recorded cursor analyzed again.
    expect(new Set(audit.map((a) => a.index)).size).toBe(FILES);
    expect(bySecond.every((a) => a.index >= resumeAt)).toBe(true);
    expect(Math.min(...bySecond.map((a) => a.index))).toBe(resumeAt);
    // Redone work is exactly what the first worker did after its last recorded checkpoint ...
    expect(redone.map((a) => a.index).sort((a, b) => a - b)).toEqual(
      byFirst.filter((a) => a.index >= resumeAt).map((a) => a.index)
    );
    // ... and spans at most one checkpoint interval of its wall time (plus heartbeat RPC slack).
    const redoneSpanMs = redone.length
      ? Math.max(...redone.map((a) => a.at)) - Math.min(...redone.map((a) => a.at))
      : 0;
    expect(redoneSpanMs).toBeLessThanOrEqual(CHECKPOINT_INTERVAL_MS + 500);
    const rate = byFirst.length / ((byFirst.at(-1)!.at - byFirst[0]!.at) / 1000);
    expect(redone.length).toBeLessThanOrEqual(Math.ceil(rate * ((CHECKPOINT_INTERVAL_MS + 500) / 1000)));

    // The results equal an uninterrupted analysis of the same files.
    const expected = listFiles(join(t.dir, 'repo')).map((p) => analyzeSource(readFileSync(p, 'utf8')));
    expect(result.outputs.analyze).toMatchObject({
      files: FILES,
      lines: expected.reduce((a, m) => a + m.lines, 0),
      todos: expected.reduce((a, m) => a + m.todos, 0),
      fixmes: expected.reduce((a, m) => a + m.fixmes, 0),
      resumedFrom: resumeAt,
      refilled: 0,
    });

    console.log(
      [
        `SIGKILL resume: ${FILES} files, killed after ${beforeKill.length} analyses, last recorded cursor ${resumeAt}`,
        `redone ${redone.length} files (${redoneSpanMs} ms of work; checkpoint interval ${CHECKPOINT_INTERVAL_MS} ms, ~${Math.round(rate)} files/s)`,
        `kill to task completion: ${recoveredAfterMs} ms`,
      ].join('\n')
    );
  });
});
