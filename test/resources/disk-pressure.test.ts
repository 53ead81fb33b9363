/**
 * Real disk pressure: the worker's data folder is a 48 MB tmpfs that a step fills with scratch files.
 * Before the disk is full the step fails as a resource failure (its temp folder emptied, retried
 * after the resource delay) and then completes from its cursor: no write ever met ENOSPC and every
 * item was done exactly once. A second task's step passes its `workDisk` quota and recovers the same
 * way. A task that is not essential is sent away while the disk is critical (minimal mode) and
 * resumes from its cursor. Needs root for the tmpfs mount (these machines and CI run as root).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LongrunClient } from '../../src/client';
import type { TaskSpecInput } from '../../src/shared/spec';
import type { HealthReport } from '../../src/worker/health';
import { freePort } from '../support/ports';
import { useServerAndWorkers } from '../support/temporal';
import { waitFor } from '../support/worker-process';

const TASK_QUEUE = 'disk-pressure';
const ACTIONS = join(__dirname, '..', 'fixtures', 'actions', 'pressure.cjs');
const t = useServerAndWorkers('disk');
/** The disk alone drives these tests: a busy CI machine must not add CPU, memory or event-loop levels. */
const DISK_ONLY = {
  LONGRUN_CPU_THRESHOLDS: '99.5,100',
  LONGRUN_MEMORY_THRESHOLDS: '99,99.5',
  LONGRUN_EVENT_LOOP_THRESHOLDS: '10000,20000',
};
const disk = mkdtempSync(join(tmpdir(), 'longrun-tmpfs-'));

beforeAll(() => {
  if (process.getuid?.() !== 0) {
    throw new Error(
      'the disk-pressure test mounts a tmpfs and needs root (CI and these machines run as root)'
    );
  }
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=48m', 'tmpfs', disk]);
});
afterAll(() => {
  for (const w of t.workers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
  execFileSync('umount', ['-l', disk]);
  rmSync(disk, { recursive: true, force: true });
});
afterEach(() => {
  if (expect.getState().assertionCalls === 0 || process.env.LONGRUN_TEST_VERBOSE)
    for (const w of t.workers) console.log(`worker ${w.pid}:\n${w.output()}`);
});

function fillTask(
  taskId: string,
  input: Record<string, unknown>,
  extra: Partial<TaskSpecInput> = {}
): TaskSpecInput {
  return {
    v: 1,
    taskId,
    agent: 'pressure',
    resources: { essential: true },
    ...extra,
    phases: [{ id: 'work', steps: [{ id: 'fill', action: 'pressure.fill', input }] }],
  };
}

/**
 * The failures of a task's retried step attempts: Temporal keeps each retry's cause as the
 * `lastFailure` of the attempt that follows it (the workflow sees only the final outcome).
 */
async function retriedFailures(
  taskId: string
): Promise<{ attempt: number; type: string; message: string }[]> {
  const history = await t.env.client.workflow.getHandle(taskId).fetchHistory();
  return (history.events ?? []).flatMap((e) => {
    const started = e.activityTaskStartedEventAttributes;
    const failure = started?.lastFailure;
    if (!started || !failure) return [];
    return [
      {
        attempt: started.attempt ?? 0,
        type: failure.applicationFailureInfo?.type ?? '',
        message: failure.message ?? '',
      },
    ];
  });
}

/** A worker on the tmpfs watching it every 200 ms, once it has its first resource sample. */
async function startWorker(port: number, queue: string, dataDir: string, env: Record<string, string> = {}) {
  const worker = t.spawn({
    TEMPORAL_ADDRESS: t.env.address,
    LONGRUN_TASK_QUEUE: queue,
    LONGRUN_DATA_DIR: join(disk, dataDir),
    LONGRUN_ACTIONS: ACTIONS,
    LONGRUN_HEALTH_PORT: String(port),
    LONGRUN_MONITOR_INTERVAL_MS: '200',
    LONGRUN_CALM_SAMPLES: '2',
    LONGRUN_RESOURCE_RETRY_MS: '1000',
    ...DISK_ONLY,
    ...env,
  });
  const url = `http://127.0.0.1:${port}/health`;
  await waitFor('the first resource sample', async () => {
    const h = await fetch(url).then(
      (r) => r.json() as Promise<HealthReport>,
      () => undefined
    );
    return h?.resources?.sample ? h : undefined;
  });
  return { worker, url };
}

/** Item indexes the ledger says were done, and anything else it recorded (ENOSPC). */
function ledgerOf(path: string, taskId: string): { done: number[]; errors: string[] } {
  const lines = readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .filter((l) => l.startsWith(`${taskId} `));
  return {
    done: lines.filter((l) => / attempt \d+$/.test(l)).map((l) => Number(l.split(' ')[1])),
    errors: lines.filter((l) => !/ attempt \d+$/.test(l)),
  };
}

it('fails a step as a resource failure before the disk fills, then completes it from its cursor', async () => {
  const port = await freePort();
  const ledger = join(t.dir, 'ledger.txt'); // outside the tmpfs
  writeFileSync(ledger, '');
  const { worker, url } = await startWorker(port, TASK_QUEUE, 'data');

  const longrun = new LongrunClient(t.env.client, TASK_QUEUE);
  const ITEMS = 60; // 60 MB of scratch files on a 48 MB disk
  await longrun.start(fillTask('filler', { items: ITEMS, mbPerItem: 1, msPerItem: 250, ledger }));
  const result = await longrun.result('filler');
  expect(result.state).toBe('completed');

  const { done, errors } = ledgerOf(ledger, 'filler');
  expect(errors).toEqual([]); // no write met a full disk
  expect(done).toEqual([...Array(ITEMS).keys()]); // each item once, in order, across the retry
  // The attempt that hit the full disk failed as a resource failure; its retry went on from its cursor.
  const retried = await retriedFailures('filler');
  expect(retried.length).toBeGreaterThanOrEqual(1);
  expect(retried[0]).toMatchObject({ attempt: 2, type: 'LongrunResource' });
  expect(retried[0]?.message).toMatch(
    /step fill \(resource\): step fill: the disk of .+ is \d+% full \(\d+ MB free.*\): the step stops before it fills/
  );
  expect(await longrun.failures('filler')).toEqual([]); // retried, not failed

  // The worker saw the disk fill (a threshold or the trend) and is back to normal once it stopped.
  const back = await waitFor('normal mode again', async () => {
    const h = await fetch(url).then((r) => r.json() as Promise<HealthReport>);
    return h.resources?.mode === 'normal' && h.resources.changes.length > 0 ? h : undefined;
  });
  // A saturated machine can still reach the pinned CPU line (100 %) first: look for the disk's change.
  expect(back.resources?.changes[0]).toMatchObject({ from: 'normal', to: 'degraded' });
  expect(back.resources?.changes.map((c) => c.reason)).toContainEqual(
    expect.stringMatching(/disk \d+% \(.+\) >= 80% warning|disk .+ fills [\d.]+ MB\/min/)
  );

  // A step over its task's workDisk quota: a resource failure too, then done from its cursor.
  await longrun.start(
    fillTask(
      'quota',
      { items: 16, mbPerItem: 0.5, msPerItem: 200, ledger }, // over 3 MB after 1.2 s, measured every second
      { resources: { essential: true, workDisk: '3MB' } }
    )
  );
  // While Temporal retries the step (the workflow does not know yet), `status` says why and when.
  const retrying = await waitFor('the quota step retrying in status', async () => {
    const status = await longrun.status('quota');
    return status.retrying.length > 0 ? status : undefined;
  });
  expect(retrying.retrying[0]).toMatchObject({ stepId: 'fill', kind: 'resource' });
  expect(retrying.retrying[0]?.attempt).toBeGreaterThanOrEqual(2);
  expect(retrying.retrying[0]?.message).toMatch(/^step fill: its work folder holds \d+ bytes, over/);
  expect(retrying.progress?.warnings).toContainEqual(
    expect.stringMatching(
      /^step fill: (attempt \d+ in \d+m?s|on attempt \d+) after a resource failure: step fill: its work folder/
    )
  );
  const quota = await longrun.result('quota');
  expect(quota.state).toBe('completed');
  expect(ledgerOf(ledger, 'quota')).toEqual({ done: [...Array(16).keys()], errors: [] });
  const over = await retriedFailures('quota');
  expect(over.length).toBeGreaterThanOrEqual(1);
  expect(over[0]).toMatchObject({ type: 'LongrunResource' });
  expect(over[0]?.message).toMatch(/its work folder holds \d+ bytes, over the task's workDisk of 3000000/);

  worker.child.kill('SIGTERM');
  expect(await worker.exited).toBe(0);
});

it('sends a task that is not essential away while the disk is critical, and it resumes with nothing lost', async () => {
  const port = await freePort();
  const ledger = join(t.dir, 'ledger-minimal.txt');
  writeFileSync(ledger, '');
  rmSync(join(disk, 'data'), { recursive: true, force: true }); // the first test's files: a disk of its own

  // Critical at 60 %: reached well before the fill rate alone would stop the step (full in 2 s).
  const { worker, url } = await startWorker(port, `${TASK_QUEUE}-minimal`, 'data-minimal', {
    LONGRUN_DISK_THRESHOLDS: '40,60',
  });
  const longrun = new LongrunClient(t.env.client, `${TASK_QUEUE}-minimal`);
  const COUNT = 80;
  await longrun.start({
    v: 1,
    taskId: 'bystander',
    agent: 'pressure',
    phases: [
      {
        id: 'work',
        steps: [{ id: 'count', action: 'pressure.count', input: { items: COUNT, msPerItem: 100, ledger } }],
      },
    ],
  });
  await longrun.start(fillTask('filler-2', { items: 40, mbPerItem: 1, msPerItem: 250, ledger }));
  const [filler, bystander] = await Promise.all([longrun.result('filler-2'), longrun.result('bystander')]);
  expect(filler.state).toBe('completed');
  expect(bystander.state).toBe('completed');

  // The worker went minimal on the disk, from degraded, and back to normal.
  const back = await waitFor('normal mode again', async () => {
    const h = await fetch(url).then((r) => r.json() as Promise<HealthReport>);
    return h.resources?.mode === 'normal' ? h : undefined;
  });
  const path = back.resources?.changes.map((c) => `${c.from}->${c.to}`) ?? [];
  expect(path).toContain('degraded->minimal');
  expect(path.at(-1)).toMatch(/->normal$/);
  const toMinimal = back.resources?.changes.find((c) => c.to === 'minimal');
  expect(toMinimal?.reason).toMatch(/disk \d+% \(.+\) >= 60% critical/);

  // The bystander was sent away, waited, ran again from its cursor: every item once, never failed.
  const log = (await longrun.logs('bystander')).map((e) => e.message);
  expect(log).toContainEqual(
    expect.stringMatching(
      /^step count: its worker \(pid \d+\) runs only essential tasks \(minimal mode: disk/
    )
  );
  expect(log).toContainEqual(
    expect.stringMatching(/^step count: ran again after \S+ waiting for a worker with resources \(sent away/)
  );
  expect(ledgerOf(ledger, 'bystander')).toEqual({ done: [...Array(COUNT).keys()], errors: [] });
  expect(await longrun.failures('bystander')).toEqual([]);
  // The essential filler failed as a resource failure at the critical line and went on from its cursor.
  expect(ledgerOf(ledger, 'filler-2')).toEqual({ done: [...Array(40).keys()], errors: [] });
  expect((await retriedFailures('filler-2'))[0]).toMatchObject({ type: 'LongrunResource' });

  worker.child.kill('SIGTERM');
  expect(await worker.exited).toBe(0);
});
