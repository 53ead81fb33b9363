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
const DAY = 24 * HOUR;

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

describe('tasks that run for weeks (time-skipping test server)', () => {
  const lines = (path: string) => readFileSync(path, 'utf8').split('\n').filter(Boolean);

  it('runs one step for 14 simulated days across continue-as-new runs, each round once', async () => {
    const ledger = join(dir, 'fortnight.ledger');
    const rounds = 14 * 24;
    const spec: TaskSpecInput = {
      v: 1,
      taskId: 'fortnight',
      agent: 'test',
      durability: 'high',
      // No deadline and no phase limit: a task of two weeks says it is extended.
      category: 'extended',
      phases: [
        {
          id: 'watch',
          steps: [{ id: 'poll', action: 'test.poll', input: { ledger, label: 'poll', rounds, every: '1h' } }],
        },
      ],
    };
    const { worker } = await inProcessWorker({
      connection: env.nativeConnection,
      taskQueue: 'fortnight',
      actions: testActions,
      dir,
    });
    const longrun = new LongrunClient(env.client, 'fortnight');
    const wallStart = Date.now();
    const result = await worker.runUntil(async () => {
      await longrun.start(spec, { searchAttributes: false });
      return longrun.result('fortnight');
    });
    const wallMs = Date.now() - wallStart;
    expect(result).toMatchObject({ state: 'completed', stepsCompleted: 1 });
    // One step, waiting an hour between rounds on a durable timer: two weeks of task time.
    expect(result.totalMs).toBeGreaterThanOrEqual(14 * DAY - HOUR);
    expect(result.runs).toBeGreaterThanOrEqual(3);
    const done = lines(ledger).map((l) => l.split('@')[0]);
    expect(done).toEqual(Array.from({ length: rounds }, (_, r) => `poll:${r}`));
    console.log(`14 days of one step in ${result.runs} runs, ${(wallMs / 1000).toFixed(1)} s of wall time`);
  }, 300_000);

  it('runs an indefinite monitoring task (hourly checks, daily reports) for 30 days until it is cancelled', async () => {
    const ledger = join(dir, 'monitor.ledger');
    const spec: TaskSpecInput = {
      v: 1,
      taskId: 'monitor',
      agent: 'test',
      durability: 'high',
      category: 'indefinite',
      phases: [
        {
          id: 'monitor',
          maxParallel: 2,
          steps: [
            { id: 'check', action: 'test.check', input: { ledger, label: 'check' }, repeat: { every: '1h' } },
            {
              id: 'report',
              action: 'test.check',
              input: { ledger, label: 'report' },
              repeat: { every: '24h' },
            },
          ],
        },
      ],
    };
    const { worker } = await inProcessWorker({
      connection: env.nativeConnection,
      taskQueue: 'monitor',
      actions: testActions,
      dir,
    });
    const longrun = new LongrunClient(env.client, 'monitor');
    const result = await worker.runUntil(async () => {
      await longrun.start(spec, { searchAttributes: false });
      await env.sleep(30 * DAY);
      const progress = await longrun.progress('monitor');
      expect(progress.state).toBe('executing');
      expect(progress.deadline).toBeNull();
      expect(progress.running?.map((r) => [r.id, r.rounds?.of ?? null])).toEqual([
        ['check', null],
        ['report', null],
      ]);
      await longrun.cancel('monitor', { reason: 'month over' });
      return longrun.result('monitor');
    });
    expect(result).toMatchObject({ state: 'cancelled', reason: 'month over' });
    expect(result.totalMs).toBeGreaterThanOrEqual(30 * DAY);
    expect(result.runs).toBeGreaterThanOrEqual(3);
    const checks = lines(ledger).filter((l) => l.startsWith('check:'));
    const reports = lines(ledger).filter((l) => l.startsWith('report:'));
    // A check every hour and a report every day, each round once, in order.
    expect(checks.length).toBeGreaterThanOrEqual(30 * 24);
    expect(checks.length).toBeLessThanOrEqual(30 * 24 + 2);
    expect(checks).toEqual(checks.map((_, r) => `check:${r}`));
    expect(reports.length).toBeGreaterThanOrEqual(30);
    expect(reports.length).toBeLessThanOrEqual(32);
  }, 300_000);
});
