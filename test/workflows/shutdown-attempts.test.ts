/**
 * Worker shutdowns are not failures of a step: a `basic` step (3 attempts) whose worker is shut down
 * three times still completes, each new worker resuming from the cursor the last one handed over,
 * and every item is processed exactly once.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { LongrunClient } from '../../src/client';
import { failuresQuery } from '../../src/workflows/messages';
import { inProcessWorker, startDevServerEnv } from '../support/temporal';
import { testActions } from '../support/test-actions';
import { waitFor } from '../support/worker-process';

const TASK_QUEUE = 'shutdown-attempts';
let env: TestWorkflowEnvironment;
let dir: string;

beforeAll(async () => {
  env = await startDevServerEnv();
  dir = mkdtempSync(join(tmpdir(), 'longrun-shutdown-attempts-'));
});
afterAll(async () => {
  await env?.teardown();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const lines = (path: string) =>
  existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : [];

it('completes a basic step through more worker shutdowns than it has attempts, redoing nothing', async () => {
  const ledger = join(dir, 'ledger');
  const longrun = new LongrunClient(env.client, TASK_QUEUE);
  await longrun.start({
    v: 1,
    taskId: 'restarts',
    agent: 'test',
    durability: 'basic',
    phases: [
      {
        id: 'p',
        steps: [{ id: 'items', action: 'test.slow', input: { ledger, label: 'i', items: 150, itemMs: 20 } }],
      },
    ],
  });
  for (let round = 1; round <= 4; round++) {
    const { worker } = await inProcessWorker({
      connection: env.nativeConnection,
      taskQueue: TASK_QUEUE,
      actions: testActions,
      dir: join(dir, `w${round}`),
    });
    const running = worker.run();
    if (round < 4) {
      // Let this worker get some items done, then shut it down (the step hands over its cursor).
      const before = lines(ledger).length;
      await waitFor('items on this worker', () => (lines(ledger).length >= before + 20 ? true : undefined));
      worker.shutdown();
      await running;
    } else {
      expect((await longrun.result('restarts')).state).toBe('completed');
      const logs = (await longrun.logs('restarts')).map((e) => e.message);
      expect(logs).toContain('step items stopped by worker shutdowns on its last attempt: scheduled again');
      expect(await env.client.workflow.getHandle('restarts').query(failuresQuery)).toEqual([]);
      worker.shutdown();
      await running;
    }
  }
  expect(lines(ledger)).toEqual(Array.from({ length: 150 }, (_, i) => `i:${i}`));
});
