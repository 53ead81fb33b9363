import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectManySteps } from '../support/many-steps';
import { testActions } from '../support/test-actions';
import { useWorkerEnv } from '../support/temporal';

// A low threshold makes the server suggest continue-as-new after a few dozen steps.
const t = useWorkerEnv({
  taskQueue: 'soak-five-thousand',
  actions: testActions,
  serverArgs: ['--dynamic-config-value', 'limit.historyCount.suggestContinueAsNew=400'],
  workerOptions: { maxCachedWorkflows: 100 },
});

it('runs a 5,000-step task across dozens of runs with correct totals and bounded state', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'longrun-5000-'));
  try {
    await expectManySteps(t.longrun, {
      taskId: 'five-thousand',
      ledger: join(dir, 'ledger'),
      phases: 50,
      stepsPerPhase: 100,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 900_000);
