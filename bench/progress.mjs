#!/usr/bin/env node
// Progress and query latency with 1, 100 and 1,000 concurrent tasks, on the SQLite dev server and on
// the native cluster (PostgreSQL + the Temporal server, `longrun cluster up`), side by side in one run.
//
// Each task runs one step of items that each take --item-ms of waiting (an agent's I/O-bound work,
// e.g. an LLM call) and reports the wall time of each item's report as its progress note. A client
// polls `progress()` (the task's query + the live progress board's, as `longrun status` does) for a
// sample of tasks; the progress
// latency of a report is the time from the step reporting it to the client first seeing it (or a
// later report). Query latency is the round trip of the `progress` query alone, one at a time, on
// random tasks, measured after the polling (for half as long) so the pollers' load does not count.
// The workers' CPU and RSS come from the worker processes themselves; the server's and PostgreSQL's
// CPU from /proc; the writes the run needed from PostgreSQL's commit counter, beside pgbench's
// commit rate on the same disk (the physical reference, measured before the rows).
//
// A row `N@MS` runs N tasks on workers whose checkpoint interval (LONGRUN_MAX_CHECKPOINT_INTERVAL_MS)
// is MS instead of the default 1000; `N/W` (or `N/W@MS`) spreads them over W worker processes. Each
// worker keeps its default heartbeat budget (LONGRUN_HEARTBEATS_PER_SECOND, unless set). Each row
// gets fresh workers. Tasks not running after --startup-s are left out of the row (the "running"
// column says how many were).
//
//   npm run build && node bench/progress.mjs [--backends dev,cluster] [--tasks 1,100,1000,1000/2]
//     [--item-ms 500] [--seconds 30] [--startup-s 180]
import { fork } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import os from 'node:os';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { BACKENDS } from './backends.mjs';
import { markdownTable } from './support.mjs';

const require = createRequire(import.meta.url);
const { values } = parseArgs({
  options: {
    tasks: { type: 'string', default: '1,100,1000,1000/2' },
    backends: { type: 'string', default: 'dev,cluster' },
    'startup-s': { type: 'string', default: '180' },
    'item-ms': { type: 'string', default: '500' },
    seconds: { type: 'string', default: '30' },
    sample: { type: 'string', default: '20' },
    worker: { type: 'boolean', default: false },
    address: { type: 'string' },
    dir: { type: 'string' },
  },
});
const itemMs = Number(values['item-ms']);
const seconds = Number(values.seconds);
const rowsWanted = values.tasks.split(',').map((row) => {
  const m = /^(\d+)(?:\/(\d+))?(?:@(\d+))?$/.exec(row.trim());
  return m ? { count: Number(m[1]), workers: Number(m[2] ?? 1), intervalMs: Number(m[3] ?? 1000) } : null;
});
if (!rowsWanted.every((r) => r && r.count > 0 && r.workers > 0 && r.intervalMs >= 10)) {
  throw new Error('--tasks: comma-separated rows N, N/W or N/W@MS (N tasks on W workers, heartbeat cap MS)');
}
const backendsWanted = values.backends.split(',').map((b) => b.trim());
for (const b of backendsWanted) if (!BACKENDS[b]) throw new Error(`--backends: dev or cluster, not "${b}"`);
const startupMs = Number(values['startup-s']) * 1000;
if (!(itemMs >= 10)) throw new Error('--item-ms: at least 10');

const TASK_QUEUE = 'bench-progress';
const { progressQuery } = require('../dist/workflows/messages.js');

/** Worker process: a longrun worker with the ticker action; reports its CPU and RSS every second. */
async function runWorker() {
  const longrun = { ...require('../dist/index.js'), ...require('../dist/worker/index.js') };
  const { NativeConnection, Runtime, DefaultLogger } = require('@temporalio/worker');
  const { z } = require('zod');
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const ticker = longrun.defineAction({
    name: 'bench.ticker',
    description: 'Items of waiting, each reporting the wall time of its report as the note',
    input: z.object({ items: z.number().int().min(1), itemMs: z.number().int().min(1) }),
    async run(ctx, input) {
      const all = Array.from({ length: input.items }, (_, i) => i);
      let done = 0;
      for await (const item of ctx.checkpointed(all, () => String(Date.now()))) {
        await new Promise((resolve) => setTimeout(resolve, input.itemMs));
        done = item + 1;
      }
      return { items: done };
    },
  });
  const config = { ...longrun.loadConfig(process.env, values.dir), taskQueue: TASK_QUEUE };
  const connection = await NativeConnection.connect({ address: values.address });
  const { worker } = await longrun.createLongrunWorker({
    config,
    connection,
    actions: [ticker],
    // Keep every task this worker holds cached (the default, 500, suits a fleet of workers).
    workerOptions: {
      maxCachedWorkflows: Number(process.env.BENCH_CACHED_WORKFLOWS ?? 2_000),
      maxConcurrentActivityTaskExecutions: 2_000,
    },
  });
  let last = { cpu: process.cpuUsage(), at: performance.now() };
  setInterval(() => {
    const cpu = process.cpuUsage();
    const at = performance.now();
    const used = (cpu.user - last.cpu.user + cpu.system - last.cpu.system) / 1000;
    if (process.connected)
      process.send?.({
        cpuPercent: (used / (at - last.at)) * 100,
        rssMb: process.memoryUsage().rss / 1024 / 1024,
        pid: process.pid,
      });
    last = { cpu, at };
  }, 1_000).unref();
  process.on('SIGTERM', () => {
    worker.shutdown();
    setTimeout(() => process.exit(0), 10_000).unref();
  });
  await worker.run();
  await connection.close();
  process.exit(0);
}

const pct = (xs, p) => {
  if (xs.length === 0) return null;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function pool(items, concurrency, fn) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]);
    })
  );
}

/** One row on one backend: start the tasks, wait until they run, poll, query, measure, terminate. */
async function measureRow(backend, client, dir, round, { count, workers: workerCount, intervalMs }) {
  const workers = [];
  let workerStats = [];
  mkdirSync(dir, { recursive: true });
  for (let w = 0; w < workerCount; w++) {
    const worker = fork(
      fileURLToPath(import.meta.url),
      ['--worker', '--address', backend.address, '--dir', join(dir, `worker-${round}-${w}`)],
      {
        // The SDK's warnings at this load (late completions of terminated tasks) go to a log file.
        stdio: ['ignore', 'inherit', openSync(join(dir, `worker-${round}-${w}.log`), 'a'), 'ipc'],
        env: {
          ...process.env,
          LONGRUN_MAX_CHECKPOINT_INTERVAL_MS: String(intervalMs),
          BENCH_CACHED_WORKFLOWS: String(Math.ceil((count * 1.2) / workerCount) + 50),
        },
      }
    );
    worker.on('message', (m) => workerStats.push(m));
    workers.push(worker);
  }
  const stopWorkers = () =>
    Promise.all(
      workers.map(async (worker) => {
        const exited = new Promise((resolve) => worker.once('exit', resolve));
        worker.kill('SIGTERM');
        await Promise.race([exited, sleep(15_000)]);
        worker.kill('SIGKILL');
      })
    );
  try {
    const allIds = Array.from({ length: count }, (_, i) => `bench-${round}-${i}`);
    const items = Math.ceil(((seconds + 180) * 1000) / itemMs);
    const t0 = performance.now();
    await pool(allIds, 50, (taskId) =>
      client.start({
        v: 1,
        taskId,
        agent: 'bench',
        phases: [{ id: 'work', steps: [{ id: 'tick', action: 'bench.ticker', input: { items, itemMs } }] }],
      })
    );
    const startedAllS = (performance.now() - t0) / 1000;
    // Wait until every task is executing (or the start-up time is up: then measure those that are).
    let ids = [];
    for (;;) {
      const running = await client.list({ state: 'executing', agent: 'bench', running: true, limit: 10_000 });
      ids = running.map((t) => t.taskId).filter((id) => id.startsWith(`bench-${round}-`));
      if (ids.length === count || performance.now() - t0 > startupMs) break;
      await sleep(1_000);
    }
    const sampleIds = ids.slice(0, Math.min(ids.length, Number(values.sample)));
    await pool(sampleIds, 20, (id) => waitItems(client, id));
    const runningS = (performance.now() - t0) / 1000;

    workerStats = [];
    const cpu0 = backend.cpu();
    const commits0 = backend.commits();
    const wall0 = performance.now();
    const until = wall0 + seconds * 1000;
    const progressLatencies = [];
    const queryLatencies = [];
    let progressErrors = 0;
    let queryErrors = 0;
    const pollers = sampleIds.map(async (id) => {
      // Every report (item) between the last one seen and the newest one became visible now: its
      // latency is now minus its report time (interpolated between the two reports' stamped times).
      let last = null;
      while (performance.now() < until) {
        const p = await client.progress(id).catch(() => null);
        const seenAt = Date.now();
        if (p === null) {
          progressErrors++;
          continue;
        }
        const note = p.items?.note;
        const done = p.items?.done;
        if (note && done !== undefined && (last === null || done > last.done)) {
          const at = Number(note);
          if (last !== null) {
            const span = done - last.done;
            for (let k = 1; k <= span; k++)
              progressLatencies.push(seenAt - (last.at + ((at - last.at) * k) / span));
          }
          last = { done, at };
        }
        await sleep(200);
      }
    });
    await Promise.all(pollers);
    // Then the queries, on their own: the tasks' load without the pollers' 200 RPC/s on top.
    const queryUntil = performance.now() + (seconds * 1000) / 2;
    while (performance.now() < queryUntil) {
      const id = ids[Math.floor(Math.random() * ids.length)];
      const t = performance.now();
      try {
        await client.client.workflow.getHandle(id).query(progressQuery);
        queryLatencies.push(performance.now() - t);
      } catch {
        queryErrors++; // e.g. "query timed out before a worker could process it" (a saturated worker)
      }
      await sleep(20);
    }
    const cpu1 = backend.cpu();
    const commits1 = backend.commits();
    const wallS = (performance.now() - wall0) / 1000;
    const share = (k) => (cpu0[k] == null || cpu1[k] == null ? null : ((cpu1[k] - cpu0[k]) / wallS) * 100);
    const perWorker = new Map();
    for (const st of workerStats) perWorker.set(st.pid, [...(perWorker.get(st.pid) ?? []), st]);
    const mean = (xs) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
    const row = {
      backend: backend.name,
      count,
      workers: workerCount,
      intervalMs,
      running: ids.length,
      startedAllS,
      runningS,
      progressP50: pct(progressLatencies, 50),
      progressP95: pct(progressLatencies, 95),
      progressN: progressLatencies.length,
      queryP50: pct(queryLatencies, 50),
      queryP99: pct(queryLatencies, 99),
      queryN: queryLatencies.length,
      errors: progressErrors + queryErrors,
      workerCpu: [...perWorker.values()].reduce((a, xs) => a + mean(xs.map((x) => x.cpuPercent)), 0),
      workerRss: Math.max(...workerStats.map((st) => st.rssMb)),
      serverCpu: share('server'),
      postgresCpu: share('postgres'),
      ...Object.fromEntries(
        ['xacts', 'walSyncs', 'rows'].map((k) => [
          k,
          commits0 === null ? null : (commits1[k] - commits0[k]) / wallS,
        ])
      ),
    };
    process.stderr.write(`  ${backend.name}: ${count} tasks on ${workerCount} worker(s) measured\n`);
    await pool(ids, 50, (id) =>
      client.client.workflow
        .getHandle(id)
        .terminate('benchmark row done')
        .catch(() => undefined)
    );
    return row;
  } finally {
    await stopWorkers();
  }
}

async function orchestrate() {
  const longrun = { ...require('../dist/index.js'), ...require('../dist/worker/index.js') };
  const dir = mkdtempSync(join(tmpdir(), 'longrun-bench-progress-'));
  chmodSync(dir, 0o711); // PostgreSQL runs as its own user (as root: `postgres`), which must enter it
  process.stdout.write(
    `progress benchmark: items of ${itemMs} ms, ${seconds} s measured per row, ${values.sample} tasks ` +
      `polled every 200 ms; ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB\n`
  );
  const rows = [];
  const references = [];
  let current = null;
  for (const signal of ['SIGINT', 'SIGTERM'])
    process.once(signal, () => void Promise.resolve(current?.stop()).finally(() => process.exit(130)));
  try {
    for (const kind of backendsWanted) {
      current = await BACKENDS[kind](join(dir, kind));
      if (current.pgbench) {
        references.push(
          `pgbench on this disk (${current.settings()}): ` +
            `${current.pgbench(1, 10).toFixed(0)} commits/s with 1 client, ` +
            `${current.pgbench(8, 10).toFixed(0)} with 8 clients (TPC-B-like writes, -N, 10 s each)`
        );
      }
      const client = await longrun.LongrunClient.connect({
        config: { ...longrun.loadConfig({}, dir), taskQueue: TASK_QUEUE },
        address: current.address,
      });
      try {
        for (const [round, row] of rowsWanted.entries()) {
          rows.push(await measureRow(current, client, join(dir, kind), `${kind}-${round}`, row));
        }
      } finally {
        await client.close();
        await current.stop();
        current = null;
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const f = (x, digits = 0) => (x === null || x === undefined ? '-' : x.toFixed(digits));
  const columns = [
    ['server', 'left'],
    ['tasks', 'right'],
    ['workers', 'right'],
    ['heartbeat cap s', 'right'],
    ['running', 'right'],
    ['all started s', 'right'],
    ['all running s', 'right'],
    ['progress p50 ms', 'right'],
    ['progress p95 ms', 'right'],
    ['samples', 'right'],
    ['query p50 ms', 'right'],
    ['query p99 ms', 'right'],
    ['queries', 'right'],
    ['failed calls', 'right'],
    ['worker CPU %', 'right'],
    ['worker RSS MB (max)', 'right'],
    ['server CPU %', 'right'],
    ['PostgreSQL CPU %', 'right'],
    ['PostgreSQL transactions/s', 'right'],
    ['WAL flushes/s', 'right'],
    ['rows written/s', 'right'],
  ];
  process.stdout.write(
    markdownTable(
      columns,
      rows.map((r) => [
        r.backend,
        r.count,
        r.workers,
        f(r.intervalMs / 1000),
        r.running,
        f(r.startedAllS, 1),
        f(r.runningS, 1),
        f(r.progressP50),
        f(r.progressP95),
        r.progressN,
        f(r.queryP50, 1),
        f(r.queryP99, 1),
        r.queryN,
        r.errors,
        f(r.workerCpu),
        f(r.workerRss),
        f(r.serverCpu),
        f(r.postgresCpu),
        f(r.xacts),
        f(r.walSyncs),
        f(r.rows),
      ])
    ) + '\n'
  );
  for (const line of references) process.stdout.write(`${line}\n`);
  process.stdout.write(
    "CPU % is of one core (200 % is this whole machine). PostgreSQL's transactions count reads too; " +
      'its WAL flushes are the physical writes, to set beside pgbench.\n'
  );
}

async function waitItems(client, id) {
  for (;;) {
    const p = await client.progress(id);
    if (p.items) return;
    await sleep(200);
  }
}

if (values.worker) await runWorker();
else {
  await orchestrate();
  process.exit(0);
}
