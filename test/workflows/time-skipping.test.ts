import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { LongrunClient } from '../../src/client';
import { durabilityPolicy } from '../../src/shared/durability';
import type { TaskSpecInput } from '../../src/shared/spec';
import { testActions } from '../support/test-actions';
import { inProcessWorker } from '../support/temporal';

const ROOT = join(__dirname, '..', '..');
const HOUR = 3_600_000;

let env: TestWorkflowEnvironment;
let dir: string;

beforeAll(async () => {
  // Temporal's Java test server skips time while every workflow waits on a timer.
  const launcher = execFileSync(process.execPath, [join(ROOT, 'scripts', 'provision-test-server.mjs')], {
    encoding: 'utf8',
  })
    .trim()
    .split('\n')
    .pop() as string;
  env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: launcher } },
  });
  dir = mkdtempSync(join(tmpdir(), 'longrun-timeskip-'));
}, 180_000);

afterAll(async () => {
  await env?.teardown();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a task spanning more than 30 hours (time-skipping test server)', () => {
  it('completes with its waits, automatic checkpoint cadence and durations correct', async () => {
    const ledger = join(dir, 'ledger');
    const phases = Array.from({ length: 16 }, (_, p) => ({
      id: `shift${p}`,
      steps: [
        { id: `work${p}`, action: 'test.tally', input: { ledger, label: `work${p}` } },
        { id: `rest${p}`, action: 'longrun.wait', input: { hours: 2 } },
      ],
    }));
    const spec: TaskSpecInput = {
      v: 1,
      taskId: 'thirty-two-hours',
      agent: 'test',
      durability: 'high',
      // Longer than the 4-hour task limit: a task this long says so with its deadline.
      deadline: new Date(Date.now() + 3 * 24 * 3_600_000).toISOString(),
      phases,
    };
    const { worker } = await inProcessWorker({
      connection: env.nativeConnection,
      taskQueue: 'time-skipping',
      actions: testActions,
      dir,
    });
    const longrun = new LongrunClient(env.client, 'time-skipping');
    const wallStart = Date.now();
    const { result, checkpoints } = await worker.runUntil(async () => {
      await longrun.start(spec, { searchAttributes: false }); // the test server has no custom ones
      const done = await longrun.result('thirty-two-hours');
      return { result: done, checkpoints: await longrun.checkpoints('thirty-two-hours') };
    });
    const wallMs = Date.now() - wallStart;

    expect(result.stepsCompleted).toBe(32);
    expect(result.totalMs).toBeGreaterThanOrEqual(32 * HOUR);
    expect(result.activeMs).toBe(result.totalMs);
    expect(readFileSync(ledger, 'utf8').split('\n').filter(Boolean)).toHaveLength(16);
    expect(result.outputs.rest15).toEqual({ waitedMs: 2 * HOUR });

    // One automatic checkpoint at the first step boundary after each 2-hour wait (the cadence is minutes).
    const automatic = checkpoints.filter((c) => c.type === 'automatic');
    expect(durabilityPolicy('high', { hardware: 'small' }).automaticCheckpointEveryMs).toBeLessThan(2 * HOUR);
    // 15 were recorded (before work1..work15); pruning keeps the latest 10 records, 5 of them automatic.
    expect(automatic.map((c) => c.stepId)).toEqual(['work11', 'work12', 'work13', 'work14', 'work15']);
    for (let i = 1; i < automatic.length; i++) {
      expect(automatic[i]!.at - automatic[i - 1]!.at).toBeGreaterThanOrEqual(2 * HOUR);
    }
    expect(checkpoints.filter((c) => c.type === 'phase')).toHaveLength(16);
    expect(wallMs).toBeLessThan(60_000);
    console.log(`32 hours of task time in ${(wallMs / 1000).toFixed(1)} s of wall time`);
  });
});
