import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { HEARTBEAT_HANDOFF_MS } from '../../src/activities/step-context';
import { LongrunClient, type TaskResult } from '../../src/client';
import { DEFAULT_MAX_CHECKPOINT_INTERVAL_MS, durabilityPolicy } from '../../src/shared/durability';
import { codebaseReviewSpec } from '../../src/shared/plans';
import { ChaosCluster, pendingStep } from '../support/chaos-cluster';
import {
  LedgerTail,
  attributeRedone,
  redoneItems,
  seededRandom,
  type CrashWindow,
} from '../support/chaos-ledger';
import { generateRepo, listFiles, uninterruptedReview } from '../support/fixture-repo';
import { freePort } from '../support/ports';
import { waitFor } from '../support/worker-process';

// 20 codebase reviews (about 60,000 files) on one worker process, which is SIGKILLed 4 times while the
// dev server is SIGKILLed once, at seeded random points. LONGRUN_CHAOS_SEED=<n> replays a schedule;
// LONGRUN_CHAOS_KEEP=1 keeps the ledgers, server log and worker logs.
const SEED = Number(process.env.LONGRUN_CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
const TASKS = 20;
const REPOS = 4;
const LINES_PER_FILE = 300;
const WORKER_KILLS = 4;
const TASK_QUEUE = 'chaos';
/**
 * Work done this long before a crash may be lost: the SDK sends the newest cursor at least every
 * checkpoint interval and the step hands it over within HEARTBEAT_HANDOFF_MS; plus slack for the RPC
 * on a busy 2-core machine.
 */
const LOSS_BOUND_MS = DEFAULT_MAX_CHECKPOINT_INTERVAL_MS + HEARTBEAT_HANDOFF_MS + 500;
/** The high level's heartbeat timeout on a small machine: the longest a dead worker goes unnoticed. */
const HEARTBEAT_TIMEOUT_MS = durabilityPolicy('high', { hardware: 'small' }).heartbeatTimeoutMs;
/** The longest retry backoff one step reaches here: 5 failed attempts at high (0.5 s, doubling). */
const MAX_BACKOFF_MS = durabilityPolicy('high').retry.initialIntervalMs * 2 ** WORKER_KILLS;

interface Crash {
  crash: number;
  kind: 'worker' | 'server';
  killedAt: number;
  /** When the replacement was started (worker) or the server was started again. */
  restartedAt: number;
  /** Server only: when the restarted server answered. */
  upAt?: number;
  itemsAtKill: number;
  /** Tasks in the middle of their analyze step at the kill. */
  hit: string[];
  /** Worker only: the cursor (next file index) the server held for each hit task after the kill. */
  cursors: Map<string, number>;
  victimPid?: number;
  workerSurvived?: boolean;
  /** The first ledger line after the restart. */
  firstItemAt?: number;
  /**
   * Worker: every hit task has analyzed a file again. Server: every hit task's running step has a
   * heartbeat (cursor) recorded by the restarted server.
   */
  recoveredAt?: number;
}

const random = seededRandom(SEED);
let dir: string;
let connection: Connection | undefined;
let chaos: ChaosCluster | undefined;

beforeAll(async () => {
  const cliPath = process.env.LONGRUN_TEMPORAL_CLI;
  if (!cliPath) throw new Error('LONGRUN_TEMPORAL_CLI is not set: run the tests through jest');
  dir = mkdtempSync(join(tmpdir(), 'longrun-chaos-'));
  for (let r = 0; r < REPOS; r++) {
    generateRepo(join(dir, `repo${r}`), 2600 + Math.floor(random() * 800), LINES_PER_FILE);
  }
  chaos = new ChaosCluster({ cliPath, dir, port: await freePort(), taskQueue: TASK_QUEUE });
  await chaos.startServer();
  chaos.startWorker();
  connection = await Connection.connect({ address: chaos.address });
}, 120_000);

afterAll(async () => {
  await connection?.close().catch(() => undefined);
  await chaos?.cleanup();
  if (process.env.LONGRUN_CHAOS_KEEP === '1') {
    for (const w of chaos?.workers ?? []) writeFileSync(join(dir, `worker-${w.pid}.log`), w.output());
    console.log(`chaos: kept ${dir}`);
  } else if (dir) rmSync(dir, { recursive: true, force: true });
}, 60_000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const seconds = (ms: number) => (ms / 1000).toFixed(1);

describe('chaos: 20 tasks while the worker and the Temporal server are SIGKILLed', () => {
  it('completes every task correctly and redoes only work from the last checkpoint interval before each crash', async () => {
    const cluster = chaos as ChaosCluster;
    const started = Date.now();
    const longrun = new LongrunClient(new Client({ connection: connection as Connection }), TASK_QUEUE);
    const tasks = Array.from({ length: TASKS }, (_, i) => ({
      taskId: `chaos-${i}`,
      root: join(dir, `repo${i % REPOS}`),
      ledger: join(dir, `ledger-${i}.jsonl`),
    }));
    const files = new Map(tasks.map((t) => [t.taskId, listFiles(t.root).length]));
    const totalItems = [...files.values()].reduce((a, b) => a + b, 0);
    const tail = new LedgerTail(new Map(tasks.map((t) => [t.taskId, t.ledger])));
    const done = (id: string) =>
      new Set(tail.lines.get(id)?.map((l) => l.index)).size >= (files.get(id) ?? 0);
    const inAnalyze = () =>
      tasks.map((t) => t.taskId).filter((id) => tail.lines.get(id)?.length && !done(id));

    for (const t of tasks) {
      await longrun.start(
        codebaseReviewSpec({ taskId: t.taskId, root: t.root, durability: 'high', auditLog: t.ledger })
      );
    }

    // Five kills, each after a seeded random share more of the work (counted from the previous
    // recovery) and a random delay; the server's is the second or third, so worker kills follow it.
    const serverAt = 1 + Math.floor(random() * 2);
    const schedule = Array.from({ length: WORKER_KILLS + 1 }, (_, i) => ({
      kind: i === serverAt ? ('server' as const) : ('worker' as const),
      share: (i === 0 ? 0.08 : 0.06) + random() * 0.05,
      delayMs: 1000 + Math.floor(random() * 2000),
      downtimeMs: 500 + Math.floor(random() * 1500),
    }));
    const describeStep = (s: (typeof schedule)[number]) =>
      `${s.kind} after +${Math.round(s.share * 100)}%${s.kind === 'server' ? ` (down ${s.downtimeMs} ms)` : ''}`;
    console.log(
      `chaos seed ${SEED} (LONGRUN_CHAOS_SEED=${SEED} replays it): ${TASKS} tasks, ${totalItems} files; ` +
        schedule.map(describeStep).join(', ')
    );
    const ledgerReaches = (target: number) => () => (tail.poll() >= target ? true : undefined);
    /** The first ledger line after `since`; null once the hit tasks are done (a step can finish during an outage). */
    const firstItemAfter = (since: number, hit: string[]) => () => {
      tail.poll();
      return tail.firstAfter(since)?.at ?? (hit.every(done) ? null : undefined);
    };
    /** Worker kill: when every hit task analyzed a file again. */
    const analyzingAgain = (since: number, hit: string[]) => () => {
      tail.poll();
      const firsts = hit.filter((id) => !done(id)).map((id) => tail.firstAfter(since, id)?.at);
      return firsts.every((at) => at !== undefined) ? Math.max(since, ...firsts) : undefined;
    };
    /** Server kill: when the restarted server has recorded a heartbeat of every hit task's running step. */
    const recordingAgain = (since: number, hit: string[]) => async () => {
      tail.poll();
      const steps = await Promise.all(hit.filter((id) => !done(id)).map((id) => pendingStep(longrun, id)));
      return steps.every((s) => !s || (s.lastHeartbeatAt ?? 0) >= since) ? Date.now() : undefined;
    };

    const crashes: Crash[] = [];
    let mark = 0;
    for (const [i, step] of schedule.entries()) {
      await sleep(step.delayMs);
      const target = mark + step.share * totalItems;
      await waitFor(`${Math.round(target)} ledger lines`, ledgerReaches(target), 180_000, 50);
      const crash: Crash = {
        crash: i + 1,
        kind: step.kind,
        killedAt: 0,
        restartedAt: 0,
        itemsAtKill: 0,
        hit: inAnalyze(),
        cursors: new Map(),
      };
      crashes.push(crash);
      if (step.kind === 'worker') {
        crash.victimPid = (await cluster.killWorker())?.pid;
        crash.killedAt = Date.now();
        crash.itemsAtKill = tail.poll();
        // Nothing runs now, so the server holds exactly the cursors the next attempts resume from.
        for (const id of crash.hit) crash.cursors.set(id, (await pendingStep(longrun, id))?.next ?? 0);
        crash.restartedAt = Date.now();
        cluster.startWorker();
      } else {
        await cluster.killServer();
        crash.killedAt = Date.now();
        crash.itemsAtKill = tail.poll();
        await sleep(step.downtimeMs);
        crash.restartedAt = Date.now();
        await cluster.startServer();
        crash.upAt = Date.now();
        // The worker rides out the outage (the SDK retries its polls); restart it if it did not.
        crash.workerSurvived = cluster.workerAlive();
        if (!crash.workerSurvived) cluster.startWorker();
      }
      const since = crash.upAt ?? crash.killedAt;
      const first = await waitFor(
        'the first item after the restart',
        firstItemAfter(since, crash.hit),
        120_000,
        50
      );
      crash.firstItemAt = first ?? undefined;
      crash.recoveredAt = await waitFor(
        'every hit task to recover',
        step.kind === 'worker'
          ? analyzingAgain(since, crash.hit)
          : recordingAgain(crash.restartedAt, crash.hit),
        120_000,
        100
      );
      mark = tail.poll();
    }

    const results = await Promise.all(tasks.map((t) => longrun.result(t.taskId)));
    const duration = Date.now() - started;
    tail.poll();
    // Workflow tasks a dead worker held up: in flight when it died, or queued on its sticky queue.
    const { TimeoutType } = temporal.api.enums.v1;
    const workflowTaskTimeouts = { scheduleToStart: 0, startToClose: 0 };
    for (const t of tasks) {
      const { events } = await longrun.client.workflow.getHandle(t.taskId).fetchHistory();
      for (const e of events ?? []) {
        const type = e.workflowTaskTimedOutEventAttributes?.timeoutType;
        if (type === TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START) workflowTaskTimeouts.scheduleToStart++;
        if (type === TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE) workflowTaskTimeouts.startToClose++;
      }
    }

    // Redone items, each assigned to the crash whose window it fell in.
    const windows: CrashWindow[] = crashes.map((c) => ({
      crash: c.crash,
      from: c.killedAt - LOSS_BOUND_MS,
      // A server outage also costs what the worker did while no cursor could be recorded.
      to: c.kind === 'worker' ? c.killedAt : (c.recoveredAt as number),
    }));
    const redone = redoneItems(tail.lines);
    const byCrash = attributeRedone(redone, windows);
    const ms = (at: number | undefined, from: number) => (at === undefined ? '-' : String(at - from));
    console.log(
      [
        `chaos seed ${SEED}: ${TASKS} tasks, ${totalItems} files, ${redone.length} redone, ${seconds(duration)} s`,
        '| crash | kind | at s | tasks hit | items done | server down + start ms | worker | restart → first item ms | kill → first item ms | kill → recovered ms | redone items | oldest redone item, ms before kill |',
        '|---:|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|',
        ...crashes.map((c) => {
          const items = byCrash.get(c.crash) ?? [];
          return `| ${[
            c.crash, c.kind, seconds(c.killedAt - started), c.hit.length, c.itemsAtKill,
            c.upAt ? `${c.restartedAt - c.killedAt} + ${c.upAt - c.restartedAt}` : '-',
            c.kind === 'worker' || !c.workerSurvived ? 'restarted' : 'kept',
            ms(c.firstItemAt, c.upAt ?? c.restartedAt), ms(c.firstItemAt, c.killedAt),
            ms(c.recoveredAt, c.killedAt), items.length,
            items.length ? Math.max(...items.map((r) => c.killedAt - r.at)) : '-',
          ].join(' | ')} |`; // prettier-ignore
        }),
        `redone items outside every crash window: ${byCrash.get(undefined)?.length ?? 0}; workflow task ` +
          `timeouts: ${workflowTaskTimeouts.startToClose} start-to-close (in flight on a killed worker), ` +
          `${workflowTaskTimeouts.scheduleToStart} schedule-to-start (a killed worker's sticky queue)`,
      ].join('\n')
    );

    // Every task completed with the result of an uninterrupted review of its repo.
    const expected = new Map(
      [...new Set(tasks.map((t) => t.root))].map((root) => [root, uninterruptedReview(root)])
    );
    for (const [i, t] of tasks.entries()) {
      const result = results[i] as TaskResult;
      expect(result.outputs.analyze).toMatchObject(expected.get(t.root) as object);
      expect(result.outputs.report).toBeDefined();
      // Every file of every task was analyzed (and recorded in the ledger).
      expect(done(t.taskId)).toBe(true);
    }
    // The kills really happened in the middle of the work.
    expect(crashes.filter((c) => c.kind === 'worker' && c.hit.length > 0)).toHaveLength(WORKER_KILLS);
    expect(crashes.filter((c) => c.kind === 'server' && c.hit.length > 0)).toHaveLength(1);
    // Nothing was redone but work from the last checkpoint interval before a crash (or the outage).
    expect(byCrash.get(undefined) ?? []).toEqual([]);
    // After a worker kill, exactly the files the dead worker analyzed past the recorded cursor.
    for (const c of crashes.filter((x) => x.kind === 'worker')) {
      const after = windows[c.crash - 2]?.to ?? 0;
      for (const id of c.hit) {
        const lost = (tail.lines.get(id) ?? []).filter(
          (l) => l.pid === c.victimPid && l.at > after && l.index >= (c.cursors.get(id) ?? 0)
        );
        const redoneHere = (byCrash.get(c.crash) ?? []).filter((r) => r.taskId === id);
        const indexes = (xs: { index: number }[]) => xs.map((x) => x.index).sort((a, b) => a - b);
        expect({ crash: c.crash, task: id, redone: indexes(redoneHere) }).toEqual({
          crash: c.crash,
          task: id,
          redone: indexes(lost),
        });
      }
    }
    // Recovery takes noticing the dead worker (heartbeat timeout) plus the step's retry backoff.
    for (const c of crashes) {
      expect((c.recoveredAt as number) - c.killedAt).toBeLessThan(
        HEARTBEAT_TIMEOUT_MS + MAX_BACKOFF_MS + 10_000
      );
    }
  }, 420_000);
});
