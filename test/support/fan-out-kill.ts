/**
 * A codebase review fanned out over folders, several sub-steps running at once, when the worker is
 * SIGKILLed: a new worker process picks every sub-step up from its own last recorded cursor. Every
 * file is analysed, and none twice except what a sub-step did within one checkpoint interval before
 * a kill. `npm test` runs it once; the soak tier at scale.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyzeSource } from '../../src/activities/agents/codebase-review/analysis';
import { LongrunClient } from '../../src/client';
import { checkpointIntervalFor } from '../../src/shared/durability';
import { codebaseReviewSpec } from '../../src/shared/plans';
import { readAudit } from './audit-log';
import { generateRepo, listFiles } from './fixture-repo';
import { useServerAndWorkers } from './temporal';
import { waitFor } from './worker-process';

const HEARTBEAT_TIMEOUT_MS = 2_000;
const CHECKPOINT_INTERVAL_MS = checkpointIntervalFor(HEARTBEAT_TIMEOUT_MS);
const TASK_QUEUE = 'fan-out-sigkill';

/** Registers the scenario as a test of the calling file: `files` files, `kills` SIGKILLs. */
export function fanOutKillScenario(files: number, kills: number): void {
  const t = useServerAndWorkers('fan-out-kill', (d) => generateRepo(join(d, 'repo'), files, 2_000));

  it(`fans a review of ${files} files out over 7 folders, 4 at once, through ${kills} worker SIGKILL(s): every file once, within the checkpoint interval`, async () => {
    const taskId = `fan-out-review-${files}`;
    const auditLog = join(t.dir, 'audit.jsonl');
    const workerEnv = {
      TEMPORAL_ADDRESS: t.env.address,
      LONGRUN_TASK_QUEUE: TASK_QUEUE,
      LONGRUN_DATA_DIR: join(t.dir, 'data'), // the workers run on this machine and share it
    };
    const longrun = new LongrunClient(t.env.client, TASK_QUEUE);
    let worker = t.spawn(workerEnv);
    await longrun.start(
      codebaseReviewSpec({
        taskId,
        root: join(t.dir, 'repo'),
        durability: 'high',
        heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS,
        auditLog,
        foldersAtOnce: 4,
      })
    );

    const killedAt: number[] = [];
    for (let k = 0; k < kills; k++) {
      // Kill while at least three sub-steps are running and each has got somewhere.
      const seen = await waitFor(
        'three sub-steps in flight',
        async () => {
          const p = await longrun.progress(taskId).catch(() => undefined);
          const fan = p?.running?.find((r) => r.id === 'analyze');
          const progressed = readAudit(auditLog).length > (k + 1) * (files / (kills + 2));
          return fan?.fanOut && fan.fanOut.running >= 3 && progressed ? fan : undefined;
        },
        120_000,
        50
      );
      expect(seen.fanOut?.total).toBe(7);
      worker.child.kill('SIGKILL');
      await worker.exited;
      killedAt.push(Date.now());
      worker = t.spawn(workerEnv);
    }
    const result = await longrun.result(taskId);
    worker.child.kill('SIGTERM');

    const audit = readAudit(auditLog);
    const byPath = new Map<string, number[]>();
    for (const a of audit) byPath.set(a.path, [...(byPath.get(a.path) ?? []), a.at]);
    // Every file analysed.
    expect(byPath.size).toBe(files);
    // A file analysed twice was first analysed just before a kill: within one checkpoint interval
    // (plus the heartbeat's own RPC slack) of it.
    const redone = [...byPath.entries()].filter(([, times]) => times.length > 1);
    for (const [path, times] of redone) {
      const first = Math.min(...times);
      const beforeKillMs = (killedAt.find((k) => k >= first) ?? Infinity) - first;
      expect({ path, beforeKillMs: beforeKillMs <= CHECKPOINT_INTERVAL_MS + 1_000 }).toEqual({
        path,
        beforeKillMs: true,
      });
    }

    // The report covers every file, exactly as an uninterrupted analysis.
    const expected = listFiles(join(t.dir, 'repo')).map((p) => analyzeSource(readFileSync(p, 'utf8')));
    expect(result.state).toBe('completed');
    expect(result.outputs.report).toMatchObject({ files: files });
    const folders = result.outputs.analyze as {
      items: number;
      completed: number;
      outputs: Array<{ files: number; lines: number }>;
    };
    expect(folders).toMatchObject({ items: 7, completed: 7 });
    expect(folders.outputs.reduce((a, o) => a + o.files, 0)).toBe(files);
    expect(folders.outputs.reduce((a, o) => a + o.lines, 0)).toBe(expected.reduce((a, m) => a + m.lines, 0));
    console.log(
      `fan-out SIGKILL: ${files} files in 7 folders, 4 at once, ${kills} kill(s); ${redone.length} files redone (checkpoint interval ${CHECKPOINT_INTERVAL_MS} ms)`
    );
  }, 600_000);
}
