import { join } from 'node:path';
import { LongrunClient } from '../../src/client';
import { codebaseReviewSpec } from '../../src/shared/plans';
import { failuresQuery } from '../../src/workflows/messages';
import { readAudit } from '../support/audit-log';
import { generateRepo } from '../support/fixture-repo';
import { useServerAndWorkers } from '../support/temporal';
import { waitFor } from '../support/worker-process';

const FILES = 1500;
const TASK_QUEUE = 'lost-workers';
const t = useServerAndWorkers('lost-workers', (d) => generateRepo(join(d, 'repo'), FILES, 2500));

it('schedules a step again when every attempt lost its worker, and completes', async () => {
  const taskId = 'lost-workers';
  const auditLog = join(t.dir, 'audit.jsonl');
  const workerEnv = {
    TEMPORAL_ADDRESS: t.env.address,
    LONGRUN_TASK_QUEUE: TASK_QUEUE,
    LONGRUN_DATA_DIR: join(t.dir, 'data'),
  };
  const longrun = new LongrunClient(t.env.client, TASK_QUEUE);
  const start = () => t.spawn(workerEnv);
  let current = start();
  await longrun.start(
    codebaseReviewSpec({
      taskId,
      root: join(t.dir, 'repo'),
      durability: 'basic',
      heartbeatTimeoutMs: 2_000,
      auditLog,
    })
  );
  for (let kill = 1; kill <= 3; kill++) {
    const pid = current.pid;
    await waitFor(
      `files analysed by worker ${kill}`,
      () => (readAudit(auditLog).filter((a) => a.pid === pid).length >= 100 ? true : undefined),
      90_000,
      50
    );
    current.child.kill('SIGKILL');
    await current.exited;
    current = start();
  }
  const result = await longrun.result(taskId);
  expect(result.state).toBe('completed');
  const audit = readAudit(auditLog);
  expect(new Set(audit.map((a) => a.index)).size).toBe(FILES);
  // Three workers were lost during the analyze step, each after analysing files of its own attempt.
  expect(new Set(audit.map((a) => a.attempt))).toEqual(new Set([1, 2, 3]));
  const logs = (await longrun.logs(taskId)).map((e) => e.message);
  expect(logs).toContain(
    'step analyze: its last attempt lost its worker (heartbeat timeout); scheduled again from its cursor (1 of 5)'
  );
  expect(await t.env.client.workflow.getHandle(taskId).query(failuresQuery)).toEqual([]);
  current.child.kill('SIGTERM');
});
