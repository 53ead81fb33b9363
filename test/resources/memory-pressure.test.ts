/**
 * Real memory pressure on a real worker process: a worker started with a small JS heap
 * (--max-old-space-size) runs an essential task that allocates heap until the worker crosses its
 * thresholds, beside a task that is not essential. The worker goes degraded, then minimal: the other
 * task's step is sent away with its cursor saved (a durable wait, holding no worker). Once the memory
 * is freed the worker steps back through degraded and recovery to normal, the task resumes by itself,
 * and the counter's ledger shows every item done exactly once. The mode changes are in the health
 * report, the metrics, the task's log and `worker.mode` webhooks.
 */
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TaskSpecInput } from '../../src/shared/spec';
import type { HealthReport } from '../../src/worker/health';
import { freePort } from '../support/ports';
import { recordHistory, useServerAndWorkers } from '../support/temporal';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver';
import { waitFor } from '../support/worker-process';
import { LongrunClient } from '../../src/client';
import { PassThrough } from 'node:stream';
import { printHealth } from '../../src/cli/health';

const TASK_QUEUE = 'memory-pressure';
const ACTIONS = join(__dirname, '..', 'fixtures', 'actions', 'pressure.cjs');
const COUNT_ITEMS = 40;
const t = useServerAndWorkers('memory');
let receiver: WebhookReceiver;

beforeAll(async () => {
  receiver = await startWebhookReceiver();
});
afterAll(() => receiver.close());
afterEach(() => {
  if (expect.getState().assertionCalls === 0 || process.env.LONGRUN_TEST_VERBOSE)
    for (const w of t.workers) console.log(`worker ${w.pid}:\n${w.output()}`);
});

function task(
  taskId: string,
  action: string,
  input: Record<string, unknown>,
  essential: boolean
): TaskSpecInput {
  return {
    v: 1,
    taskId,
    agent: 'pressure',
    ...(essential ? { resources: { essential: true } } : {}),
    phases: [{ id: 'work', steps: [{ id: 'run', action, input }] }],
  };
}

async function health(url: string): Promise<HealthReport | undefined> {
  try {
    const res = await fetch(url);
    return (await res.json()) as HealthReport;
  } catch {
    return undefined;
  }
}

it('degrades, runs only the essential task, then recovers and resumes the other with nothing lost or redone', async () => {
  const port = await freePort();
  const ledger = join(t.dir, 'ledger.txt');
  const release = join(t.dir, 'release');
  writeFileSync(ledger, '');
  const worker = t.spawn({
    TEMPORAL_ADDRESS: t.env.address,
    LONGRUN_TASK_QUEUE: TASK_QUEUE,
    LONGRUN_DATA_DIR: join(t.dir, 'data'),
    LONGRUN_ACTIONS: ACTIONS,
    LONGRUN_HEALTH_PORT: String(port),
    LONGRUN_WEBHOOK_URLS: receiver.url,
    LONGRUN_PROGRESS_REPORT_MS: '1000',
    LONGRUN_MONITOR_INTERVAL_MS: '250',
    LONGRUN_CALM_SAMPLES: '2',
    LONGRUN_MEMORY_THRESHOLDS: '45,65',
    // Memory alone drives this test: a busy CI machine must not add CPU or event-loop warnings.
    LONGRUN_CPU_THRESHOLDS: '99.5,100',
    LONGRUN_EVENT_LOOP_THRESHOLDS: '10000,20000',
    NODE_OPTIONS: '--max-old-space-size=256 --expose-gc',
  });
  const url = `http://127.0.0.1:${port}/health`;
  // A loaded machine may catch the worker's start-up heap over 45 %: the test starts from normal.
  const first = await waitFor(
    'a resource sample in normal mode',
    async () => {
      const h = await health(url);
      return h?.resources?.sample && h.resources.mode === 'normal' ? h : undefined;
    },
    60_000,
    200
  );
  const before = first.resources?.changes.length ?? 0; // start-up changes, if any
  expect(first.resources).toMatchObject({
    mode: 'normal',
    thresholds: { memory: { warning: 45, critical: 65 } },
  });
  expect(first.resources?.sample?.memorySource).toBe('heap');

  const longrun = new LongrunClient(t.env.client, TASK_QUEUE);
  await longrun.start(
    task('counter', 'pressure.count', { items: COUNT_ITEMS, msPerItem: 150, ledger }, false)
  );
  await waitFor('the counter under way', () =>
    readFileSync(ledger, 'utf8').split('\n').length > 3 ? true : undefined
  );
  await longrun.start(task('hog', 'pressure.hog', { mbPerItem: 16, items: 12, releaseFile: release }, true));

  const minimal = await waitFor('minimal mode', async () => {
    const h = await health(url);
    return h?.resources?.mode === 'minimal' ? h : undefined;
  });
  expect(minimal.status).toBe('degraded');
  expect(minimal.resources?.levels.memory).toBe('critical');
  // Degraded first, minimal only from degraded. A garbage collection while the hog allocates may
  // bring the heap under the warning line for a few samples: recovery and back, which is allowed.
  const toMinimal = minimal.resources?.changes.slice(before).map((c) => `${c.from}->${c.to}`) ?? [];
  expect(toMinimal[0]).toBe('normal->degraded');
  expect(toMinimal.at(-1)).toBe('degraded->minimal');
  for (const change of toMinimal.slice(1, -1))
    expect(['degraded->recovery', 'recovery->degraded', 'recovery->normal', 'normal->degraded']).toContain(
      change
    );
  const waiting = await waitFor('the counter sent away', async () => {
    const p = await longrun.progress('counter');
    return p.running?.some((r) => r.waitingFor === 'resources') ? p : undefined;
  });
  const doneWhenSentAway = readFileSync(ledger, 'utf8').trim().split('\n').length;
  expect(doneWhenSentAway).toBeLessThan(COUNT_ITEMS);
  expect(waiting.state).not.toBe('paused');
  expect(
    waiting.warnings?.some((w) => /^step run: its worker \(pid \d+\) runs only essential tasks/.test(w))
  ).toBe(true);

  // `longrun health` shows the mode, each level against its thresholds and the changes.
  const out = new PassThrough();
  let printed = '';
  out.on('data', (d: Buffer) => (printed += d.toString()));
  expect(await printHealth(url, out)).toBe(0);
  expect(printed).toMatch(/^mode: minimal since .+, 25 of 100 step slots; level (critical|failing)$/m);
  expect(printed).toMatch(
    /^ {2}memory +critical +\d+% \(heap: \d+ of \d+ MB\) +\[warning 45, critical 65 %\]$/m
  );
  // The changes name memory (a saturated machine may reach the pinned CPU line at 100 % first).
  expect(printed).toMatch(
    / -> (degraded|minimal) \(\d+ slots\): .*memory \d+% \(heap\) >= (45% warning|65% critical)/
  );

  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  expect(metrics).toContain('longrun_worker_mode{mode="minimal"} 1');
  expect(metrics).toMatch(/^longrun_step_checkpoint_age_seconds\{task_id="hog",step_id="run"\} [\d.]+$/m);
  expect(metrics).toMatch(/^temporal_\w+/m); // the SDK's own metrics come first

  appendFileSync(release, 'go');
  const [hog, counter] = await Promise.all([longrun.result('hog'), longrun.result('counter')]);
  expect(hog.state).toBe('completed');
  expect(counter.state).toBe('completed');
  recordHistory(t.env, 'counter', 'long-task-resource-wait-v4.json');

  const back = await waitFor('normal mode again', async () => {
    const h = await health(url);
    return h?.resources?.mode === 'normal' ? h : undefined;
  });
  const path = back.resources?.changes.slice(before).map((c) => c.to) ?? [];
  expect(path.slice(0, toMinimal.length)).toEqual(toMinimal.map((c) => c.split('->')[1]));
  expect(path.at(-1)).toBe('normal');
  expect(path).toContain('recovery'); // ramps back up, a quarter of the slots per calm sample

  // Every item of the counter exactly once, the same attempt throughout: it waited, it did not fail.
  const lines = readFileSync(ledger, 'utf8').trim().split('\n');
  expect(lines.map((l) => Number(l.split(' ')[1]))).toEqual([...Array(COUNT_ITEMS).keys()]);
  expect(new Set(lines.map((l) => l.split(' ').at(-1)))).toEqual(new Set(['1']));
  expect(await longrun.failures('counter')).toEqual([]);

  // The task's log says why it waited; the webhooks carry every change.
  const log = await longrun.logs('counter');
  expect(
    log.some((e) =>
      /runs only essential tasks \(minimal mode: memory \d+% \(heap\) >= 65% critical/.test(e.message)
    )
  ).toBe(true);
  // ... and when it got a worker again, how long it was kept out.
  expect(log.map((e) => e.message)).toContainEqual(
    expect.stringMatching(
      /^step run: ran again after \S+ waiting for a worker with resources \(sent away (once|\d+ times)\)$/
    )
  );
  const events = receiver.requests.map(
    (r) => JSON.parse(r.body) as { type: string; data: { from: string; to: string } }
  );
  expect(events.every((e) => e.type === 'worker.mode')).toBe(true);
  expect(events.slice(before).map((e) => e.data.to)).toEqual(path);
  expect(receiver.requests[0]?.headers['x-longrun-event']).toBe('worker.mode');

  worker.child.kill('SIGTERM');
  expect(await worker.exited).toBe(0);
});
