/**
 * Real CPU pressure: burner processes saturate both cores while a worker runs a task. The worker
 * goes degraded (half its step slots, progress reported less often) but sends nothing away: a busy
 * machine is slow, it loses nothing, and it runs at most half as many steps at once. Once the burners stop it ramps back to normal through recovery,
 * and the task's ledger shows every item done once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LongrunClient } from '../../src/client';
import type { HealthReport } from '../../src/worker/health';
import { freePort } from '../support/ports';
import { useServerAndWorkers } from '../support/temporal';
import { waitFor } from '../support/worker-process';

const TASK_QUEUE = 'cpu-pressure';
const ACTIONS = join(__dirname, '..', 'fixtures', 'actions', 'pressure.cjs');
const ITEMS = 60;
const t = useServerAndWorkers('cpu');
const burners: ChildProcess[] = [];

afterAll(() => {
  for (const b of burners) b.kill('SIGKILL');
});
afterEach(() => {
  if (expect.getState().assertionCalls === 0 || process.env.LONGRUN_TEST_VERBOSE)
    for (const w of t.workers) console.log(`worker ${w.pid}:\n${w.output()}`);
});

async function health(url: string): Promise<HealthReport | undefined> {
  return fetch(url).then(
    (r) => r.json() as Promise<HealthReport>,
    () => undefined
  );
}

/** Eight items of `pressure.hold`, all allowed at once. */
function fanOut(taskId: string, ledger: string) {
  return {
    v: 1 as const,
    taskId,
    agent: 'pressure',
    phases: [
      {
        id: 'work',
        steps: [
          {
            id: 'hold',
            action: 'pressure.hold',
            forEach: [...Array(8).keys()],
            maxParallel: 8,
            input: { ms: 2_000, ledger },
          },
        ],
      },
    ],
  };
}

/** The most holds of a task that ran at once, as each saw when it started. */
function peakOf(ledger: string, taskId: string): number {
  const counts = readFileSync(ledger, 'utf8')
    .trim()
    .split('\n')
    .filter((l) => l.startsWith(`${taskId} `))
    .map((l) => Number(l.split(' ').at(-1)));
  expect(counts).toHaveLength(8); // every item once
  return Math.max(...counts);
}

it('degrades under CPU burners without sending work away, and ramps back to normal after them', async () => {
  const port = await freePort();
  const ledger = join(t.dir, 'ledger.txt');
  writeFileSync(ledger, '');
  const worker = t.spawn({
    TEMPORAL_ADDRESS: t.env.address,
    LONGRUN_TASK_QUEUE: TASK_QUEUE,
    LONGRUN_DATA_DIR: join(t.dir, 'data'),
    LONGRUN_ACTIONS: ACTIONS,
    LONGRUN_HEALTH_PORT: String(port),
    LONGRUN_MONITOR_INTERVAL_MS: '500',
    LONGRUN_CALM_SAMPLES: '2',
    LONGRUN_MAX_CONCURRENT_STEPS: '8',
  });
  const url = `http://127.0.0.1:${port}/health`;
  await waitFor('the first resource sample', async () => {
    const h = await health(url);
    return h?.resources?.sample ? h : undefined;
  });
  const longrun = new LongrunClient(t.env.client, TASK_QUEUE);
  await longrun.start({
    v: 1,
    taskId: 'busy-counter',
    agent: 'pressure',
    phases: [
      {
        id: 'work',
        steps: [{ id: 'count', action: 'pressure.count', input: { items: ITEMS, msPerItem: 100, ledger } }],
      },
    ],
  });

  // One more burner than cores: the machine is saturated whatever else runs.
  for (let i = 0; i <= availableParallelism(); i++) {
    burners.push(spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
  }
  const degraded = await waitFor('degraded mode', async () => {
    const h = await health(url);
    return h?.resources?.mode === 'degraded' ? h : undefined;
  });
  expect(degraded.resources?.levels.cpu).toMatch(/warning|critical/);
  expect(degraded.resources?.changes[0]?.reason).toMatch(/^cpu \d+% >= (80|95)% (warning|critical)/);
  expect(degraded.resources?.slots).toEqual({ now: 4, max: 8 });
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  expect(metrics).toContain('longrun_worker_step_slots 4\n');
  expect(metrics).toMatch(
    /^longrun_resource_usage_ratio\{resource="cpu"\} 0\.(8|9)\d*|^longrun_resource_usage_ratio\{resource="cpu"\} 1$/m
  );

  // Half the slots is half the steps: eight items at once run at most four at a time (the counter
  // may hold one of them).
  const holds = join(t.dir, 'holds.txt');
  writeFileSync(holds, '');
  await longrun.start(fanOut('held-degraded', holds));
  expect((await longrun.result('held-degraded')).state).toBe('completed');
  expect(peakOf(holds, 'held-degraded')).toBeLessThanOrEqual(4);

  for (const b of burners) b.kill('SIGKILL');
  const back = await waitFor('normal mode again', async () => {
    const h = await health(url);
    return h?.resources?.mode === 'normal' ? h : undefined;
  });
  expect(back.resources?.changes.map((c) => c.to)).toEqual(['degraded', 'recovery', 'normal']);

  // Back to normal, all eight slots: the same items run more than four at once.
  await longrun.start(fanOut('held-normal', holds));
  expect((await longrun.result('held-normal')).state).toBe('completed');
  expect(peakOf(holds, 'held-normal')).toBeGreaterThan(4);

  const result = await longrun.result('busy-counter');
  expect(result.state).toBe('completed');
  const done = readFileSync(ledger, 'utf8').trim().split('\n');
  expect(done.map((l) => Number(l.split(' ')[1]))).toEqual([...Array(ITEMS).keys()]);
  expect(new Set(done.map((l) => l.split(' ').at(-1)))).toEqual(new Set(['1'])); // never sent away, never retried

  worker.child.kill('SIGTERM');
  expect(await worker.exited).toBe(0);
});
