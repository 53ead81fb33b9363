/**
 * Chaos on the native cluster (PostgreSQL + the Temporal server, test/support/cluster-setup.ts):
 * codebase reviews on three worker processes while, at seeded random points, a worker is SIGKILLed,
 * another is SIGTERMed (a graceful stop: nothing may be redone), the Temporal server is SIGKILLed and
 * started again, PostgreSQL is restarted under load, and a third worker is SIGKILLed. Every task must
 * complete with the result of an uninterrupted review, and an item may be done twice only if it was
 * done in the last checkpoint interval before a crash (or while the server or database was away).
 * LONGRUN_CHAOS_SEED=<n> replays a schedule; LONGRUN_CHAOS_KEEP=1 keeps the folder and worker logs.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { HEARTBEAT_HANDOFF_MS } from '../../src/activities/step-context';
import { restartPostgres, startTemporal, stopTemporal } from '../../src/cluster/cluster';
import { LongrunClient, type TaskResult } from '../../src/client';
import { DEFAULT_MAX_CHECKPOINT_INTERVAL_MS, durabilityPolicy } from '../../src/shared/durability';
import { codebaseReviewSpec } from '../../src/shared/plans';
import { pendingStep } from '../support/chaos-cluster';
import {
  LedgerTail,
  attributeRedone,
  redoneItems,
  seededRandom,
  type CrashWindow,
} from '../support/chaos-ledger';
import { generateRepo, listFiles, uninterruptedReview } from '../support/fixture-repo';
import { spawnWorker, waitFor, type WorkerProcess } from '../support/worker-process';

const SEED = Number(process.env.LONGRUN_CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
const TASKS = 12;
const REPOS = 3;
const WORKERS = 3;
const THINK_MS = 12; // per file: I/O-bound work, so three workers share two cores without starving
const TASK_QUEUE = 'cluster-chaos';
/** As in test/chaos: what a crash may cost is the last checkpoint interval and the hand-over. */
const LOSS_BOUND_MS = DEFAULT_MAX_CHECKPOINT_INTERVAL_MS + HEARTBEAT_HANDOFF_MS + 500;
const HEARTBEAT_TIMEOUT_MS = durabilityPolicy('high', { hardware: 'small' }).heartbeatTimeoutMs;

type Kind = 'worker-kill' | 'worker-term' | 'server-kill' | 'postgres-restart';
interface Disruption {
  n: number;
  kind: Kind;
  at: number;
  /** When the processes it stopped were back (replacement started, server answering, database up). */
  backAt: number;
  /** Tasks in their analyze step on the stopped worker, or all running ones for the server/database. */
  hit: string[];
  victimPid?: number;
  victimExit?: number | null;
  /** When every hit task had moved on: analyzed a file again (workers) or had a recorded cursor. */
  recoveredAt?: number;
}

const cluster = { dir: process.env.LONGRUN_TEST_CLUSTER as string };
const random = seededRandom(SEED);
let dir: string;
let connection: Connection;
const workers: WorkerProcess[] = [];

function startWorker(): WorkerProcess {
  const w = spawnWorker({
    TEMPORAL_ADDRESS: process.env.LONGRUN_TEST_TEMPORAL_ADDRESS as string,
    LONGRUN_TASK_QUEUE: TASK_QUEUE,
    LONGRUN_DATA_DIR: join(dir, 'worker-data'),
  });
  workers.push(w);
  return w;
}
const alive = () => workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null);

beforeAll(async () => {
  if (!cluster.dir)
    throw new Error('LONGRUN_TEST_CLUSTER is not set: run this through `npm run test:cluster`');
  dir = mkdtempSync(join(tmpdir(), 'longrun-cluster-chaos-'));
  for (let r = 0; r < REPOS; r++) generateRepo(join(dir, `repo${r}`), 1800 + Math.floor(random() * 600), 200);
  for (let i = 0; i < WORKERS; i++) startWorker();
  connection = await Connection.connect({ address: process.env.LONGRUN_TEST_TEMPORAL_ADDRESS as string });
}, 120_000);

afterAll(async () => {
  await connection?.close().catch(() => undefined);
  for (const w of workers) {
    if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
    await w.exited;
  }
  // A failed run must not leave the server down for the suites after this one.
  await startTemporal(cluster).catch(() => undefined);
  if (process.env.LONGRUN_CHAOS_KEEP === '1') {
    for (const w of workers) writeFileSync(join(dir, `worker-${w.pid}.log`), w.output());
    console.log(`cluster chaos: kept ${dir}`);
  } else if (dir) rmSync(dir, { recursive: true, force: true });
}, 120_000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

it('completes every task on three workers through worker kills, a graceful stop, a server kill and a database restart', async () => {
  const started = Date.now();
  const longrun = new LongrunClient(new Client({ connection }), TASK_QUEUE);
  const tasks = Array.from({ length: TASKS }, (_, i) => ({
    taskId: `cluster-chaos-${i}`,
    root: join(dir, `repo${i % REPOS}`),
    ledger: join(dir, `ledger-${i}.jsonl`),
  }));
  const files = new Map(tasks.map((t) => [t.taskId, listFiles(t.root).length]));
  const totalItems = [...files.values()].reduce((a, b) => a + b, 0);
  const tail = new LedgerTail(new Map(tasks.map((t) => [t.taskId, t.ledger])));
  const done = (id: string) => new Set(tail.lines.get(id)?.map((l) => l.index)).size >= (files.get(id) ?? 0);
  const analyzing = () => tasks.map((t) => t.taskId).filter((id) => tail.lines.get(id)?.length && !done(id));
  const lastPid = (id: string) => tail.lines.get(id)?.at(-1)?.pid;

  for (const t of tasks) {
    await longrun.start(
      codebaseReviewSpec({
        taskId: t.taskId,
        root: t.root,
        durability: 'high',
        auditLog: t.ledger,
        thinkMsPerFile: THINK_MS,
      })
    );
  }

  const kinds: Kind[] = ['worker-kill', 'worker-term', 'server-kill', 'postgres-restart', 'worker-kill'];
  // The first worker kill stays first (all three workers busy); the rest in a seeded order.
  const rest = kinds.slice(1).sort(() => random() - 0.5);
  const schedule = [kinds[0] as Kind, ...rest].map((kind) => ({ kind, share: 0.07 + random() * 0.05 }));
  console.log(
    `cluster chaos seed ${SEED} (LONGRUN_CHAOS_SEED=${SEED} replays it): ${TASKS} tasks, ${totalItems} files, ` +
      `${WORKERS} workers; ${schedule.map((s) => `${s.kind} after +${Math.round(s.share * 100)}%`).join(', ')}`
  );

  const disruptions: Disruption[] = [];
  let mark = 0;
  for (const [i, step] of schedule.entries()) {
    const target = mark + step.share * totalItems;
    await waitFor(
      `${Math.round(target)} ledger lines`,
      () => (tail.poll() >= target ? true : undefined),
      240_000,
      50
    );
    const d: Disruption = { n: i + 1, kind: step.kind, at: 0, backAt: 0, hit: analyzing() };
    if (step.kind === 'worker-kill' || step.kind === 'worker-term') {
      // The busiest live worker: the one that wrote the last line of the most running tasks.
      const victim = alive()
        .map((w) => ({ w, tasks: d.hit.filter((id) => lastPid(id) === w.pid) }))
        .sort((a, b) => b.tasks.length - a.tasks.length)[0] as { w: WorkerProcess; tasks: string[] };
      d.victimPid = victim.w.pid;
      d.hit = victim.tasks;
      d.at = Date.now();
      victim.w.child.kill(step.kind === 'worker-kill' ? 'SIGKILL' : 'SIGTERM');
      d.victimExit = await victim.w.exited;
      startWorker();
    } else if (step.kind === 'server-kill') {
      d.at = Date.now();
      await stopTemporal(cluster, 'SIGKILL');
      await sleep(500 + Math.floor(random() * 1500));
      await startTemporal(cluster);
    } else {
      d.at = Date.now();
      restartPostgres(cluster, 'fast');
    }
    d.backAt = Date.now();
    disruptions.push(d);
    const open = () => d.hit.filter((id) => !done(id));
    d.recoveredAt = await waitFor(
      `every task hit by ${d.kind} to move on`,
      async () => {
        tail.poll();
        if (d.kind.startsWith('worker')) {
          const firsts = open().map((id) => tail.firstAfter(d.at, id)?.at);
          return firsts.every((at) => at !== undefined) ? Math.max(d.backAt, ...firsts) : undefined;
        }
        // The server or database was away: every running step has a cursor recorded since it came back.
        const steps = await Promise.all(open().map((id) => pendingStep(longrun, id).catch(() => null)));
        return steps.every((s) => s !== null && (!s || (s.lastHeartbeatAt ?? 0) >= d.backAt))
          ? Date.now()
          : undefined;
      },
      180_000,
      100
    );
    mark = tail.poll();
  }

  const results = await Promise.all(tasks.map((t) => longrun.result(t.taskId)));
  tail.poll();
  // A graceful stop has no window: its steps hand their cursors over, so nothing it did is redone.
  const windows: CrashWindow[] = disruptions
    .filter((d) => d.kind !== 'worker-term')
    .map((d) => ({
      crash: d.n,
      from: d.at - LOSS_BOUND_MS,
      to: d.kind === 'worker-kill' ? d.at : (d.recoveredAt as number),
    }));
  const redone = redoneItems(tail.lines);
  const byCrash = attributeRedone(redone, windows);
  console.log(
    [
      `cluster chaos seed ${SEED}: ${TASKS} tasks, ${totalItems} files, ${redone.length} redone, ` +
        `${((Date.now() - started) / 1000).toFixed(1)} s`,
      '| # | disruption | at s | tasks hit | back after ms | recovered after ms | redone items |',
      '|---:|---|---:|---:|---:|---:|---:|',
      ...disruptions.map(
        (d) =>
          `| ${d.n} | ${d.kind} | ${((d.at - started) / 1000).toFixed(1)} | ${d.hit.length} | ${d.backAt - d.at} | ` +
          `${(d.recoveredAt as number) - d.at} | ${byCrash.get(d.n)?.length ?? 0} |`
      ),
      `redone outside every window: ${byCrash.get(undefined)?.length ?? 0}`,
    ].join('\n')
  );

  // Every task completed with the result of an uninterrupted review, every file in the ledger.
  const expected = new Map(
    [...new Set(tasks.map((t) => t.root))].map((root) => [root, uninterruptedReview(root)])
  );
  for (const [i, t] of tasks.entries()) {
    expect((results[i] as TaskResult).outputs.analyze).toMatchObject(expected.get(t.root) as object);
    expect(done(t.taskId)).toBe(true);
  }
  // The disruptions happened in the middle of the work; the stopped worker exited as it should.
  for (const d of disruptions)
    expect({ n: d.n, kind: d.kind, hit: d.hit.length > 0 }).toEqual({ n: d.n, kind: d.kind, hit: true });
  expect(disruptions.filter((d) => d.kind === 'worker-kill').map((d) => d.victimExit)).toEqual([null, null]);
  expect(disruptions.find((d) => d.kind === 'worker-term')?.victimExit).toBe(0);
  // Nothing redone but work from the last checkpoint interval before a crash or during an outage.
  expect(byCrash.get(undefined) ?? []).toEqual([]);
  for (const d of disruptions.filter((x) => x.kind === 'worker-kill')) {
    expect((d.recoveredAt as number) - d.at).toBeLessThan(HEARTBEAT_TIMEOUT_MS + 15_000);
  }
}, 600_000);
