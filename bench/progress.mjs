#!/usr/bin/env node
// Progress and query latency with 1, 100 and 1,000 concurrent tasks on one local dev server and one
// worker process.
//
// Each task runs one step of items that each take --item-ms of waiting (an agent's I/O-bound work,
// e.g. an LLM call) and reports the wall time of each item's report as its progress note. A client
// polls `progress()` (query + describe, as `longrun status` does) for a sample of tasks; the progress
// latency of a report is the time from the step reporting it to the client first seeing it (or a
// later report). Query latency is the round trip of the `progress` query alone, one at a time, on
// random tasks, measured after the polling (for half as long) so the pollers' load does not count.
// The worker's CPU and RSS come from the worker process itself, the server's CPU from /proc.
//
// A row `N@MS` runs N tasks on a worker whose heartbeat cap (LONGRUN_MAX_CHECKPOINT_INTERVAL_MS) is
// MS instead of the default 1000; each row gets a fresh worker process. Tasks not running after
// --startup-s are left out of the row (the "running" column says how many were).
//
//   npm run build && node bench/progress.mjs [--tasks 1,100,1000,1000@5000] [--item-ms 500] [--seconds 30]
import { fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { freePort, markdownTable } from './support.mjs';

const require = createRequire(import.meta.url);
const { values } = parseArgs({
  options: {
    tasks: { type: 'string', default: '1,100,1000,1000@5000' },
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
  const [n, ms] = row.split('@').map(Number);
  return { count: n, intervalMs: ms ?? 1000 };
});
if (
  !rowsWanted.every(
    (r) => Number.isInteger(r.count) && r.count > 0 && Number.isInteger(r.intervalMs) && r.intervalMs >= 10
  )
) {
  throw new Error('--tasks: comma-separated rows N or N@MS (N tasks, heartbeat cap MS)');
}
const startupMs = Number(values['startup-s']) * 1000;
if (!(itemMs >= 10)) throw new Error('--item-ms: at least 10');

const TASK_QUEUE = 'bench-progress';

/** Worker process: a longrun worker with the ticker action; reports its CPU and RSS every second. */
async function runWorker() {
  const longrun = require('../dist/index.js');
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
    // One worker holds every task: keep them all cached (the default, 500, suits a fleet of workers).
    workerOptions: { maxCachedWorkflows: 2_000, maxConcurrentActivityTaskExecutions: 2_000 },
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

/** CPU seconds a process has used so far (Linux /proc). */
function cpuSecondsOf(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime in clock ticks (100/s)
  } catch {
    return null;
  }
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

async function orchestrate() {
  const longrun = require('../dist/index.js');
  const { progressQuery } = require('../dist/workflows/messages.js');
  const { temporalCliPath } = require('../dist/dev/temporal-cli.js');
  const { startDevServer } = require('../dist/dev/server.js');
  const dir = mkdtempSync(join(tmpdir(), 'longrun-bench-progress-'));
  const server = await startDevServer({
    cliPath: temporalCliPath({ quiet: true }),
    dataDir: join(dir, 'server'),
    port: await freePort(),
    uiPort: 0,
  });
  let worker = null;
  let workerStats = [];
  const startWorker = (intervalMs, round) => {
    worker = fork(
      fileURLToPath(import.meta.url),
      ['--worker', '--address', server.address, '--dir', join(dir, `worker-${round}`)],
      {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        env: { ...process.env, LONGRUN_MAX_CHECKPOINT_INTERVAL_MS: String(intervalMs) },
      }
    );
    worker.on('message', (m) => workerStats.push(m));
  };
  const stopWorker = async () => {
    if (!worker) return;
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    worker.kill('SIGTERM');
    await Promise.race([exited, sleep(15_000)]);
    worker.kill('SIGKILL');
    worker = null;
  };
  const stop = async () => {
    // The worker first (it drains its steps against a live server), then the server.
    await stopWorker();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  for (const signal of ['SIGINT', 'SIGTERM'])
    process.once(signal, () => {
      worker?.kill('SIGKILL');
      void stop().finally(() => process.exit(130));
    });

  const client = await longrun.LongrunClient.connect({
    config: { ...longrun.loadConfig({}, dir), taskQueue: TASK_QUEUE },
    address: server.address,
  });
  process.stdout.write(
    `progress benchmark: items of ${itemMs} ms, ${seconds} s measured per row, ${values.sample} tasks polled every 200 ms\n`
  );
  const rows = [];
  try {
    for (const [round, { count, intervalMs }] of rowsWanted.entries()) {
      startWorker(intervalMs, round);
      const allIds = Array.from({ length: count }, (_, i) => `bench-${round}-${i}`);
      const items = Math.ceil(((seconds + 120) * 1000) / itemMs);
      const t0 = performance.now();
      await pool(allIds, 50, (taskId) =>
        client.start({
          v: 1,
          taskId,
          agent: 'bench',
          phases: [{ id: 'work', steps: [{ id: 'tick', action: 'bench.ticker', input: { items, itemMs } }] }],
        })
      );
      // Wait until every task is executing (or the start-up time is up: then measure those that are).
      let ids = [];
      for (;;) {
        const running = await client.list({
          state: 'executing',
          agent: 'bench',
          running: true,
          limit: 10_000,
        });
        ids = running.map((t) => t.taskId).filter((id) => id.startsWith(`bench-${round}-`));
        if (ids.length === count || performance.now() - t0 > startupMs) break;
        await sleep(1_000);
      }
      const sampleIds = ids.slice(0, Math.min(ids.length, Number(values.sample)));
      await pool(sampleIds, 20, (id) => waitItems(client, id));
      const startedS = (performance.now() - t0) / 1000;

      workerStats = [];
      const serverCpu0 = cpuSecondsOf(server.pid);
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
              for (let k = 1; k <= span; k++) {
                progressLatencies.push(seenAt - (last.at + ((at - last.at) * k) / span));
              }
            }
            last = { done, at };
          }
          await sleep(200);
        }
      });
      await Promise.all(pollers);
      // Then the queries, on their own: the tasks' load without the pollers' 200 RPC/s on top.
      const queryUntil = performance.now() + (seconds * 1000) / 2;
      const querier = (async () => {
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
      })();
      await querier;
      const serverCpu1 = cpuSecondsOf(server.pid);
      const wallS = (performance.now() - wall0) / 1000;
      rows.push({
        count,
        intervalMs,
        running: ids.length,
        startedS,
        progressP50: pct(progressLatencies, 50),
        progressP95: pct(progressLatencies, 95),
        progressN: progressLatencies.length,
        queryP50: pct(queryLatencies, 50),
        queryP99: pct(queryLatencies, 99),
        queryN: queryLatencies.length,
        errors: progressErrors + queryErrors,
        workerCpu: workerStats.reduce((a, s) => a + s.cpuPercent, 0) / Math.max(1, workerStats.length),
        workerRss: Math.max(...workerStats.map((s) => s.rssMb)),
        serverCpu:
          serverCpu0 === null || serverCpu1 === null ? null : ((serverCpu1 - serverCpu0) / wallS) * 100,
      });
      process.stderr.write(`  ${count} tasks measured\n`);
      await pool(ids, 50, (id) =>
        client.client.workflow
          .getHandle(id)
          .terminate('benchmark row done')
          .catch(() => undefined)
      );
    }
  } finally {
    await client.close();
    await stop();
  }
  const f = (x, digits = 0) => (x === null || x === undefined ? '-' : x.toFixed(digits));
  const headers = [
    'tasks',
    'heartbeat cap s',
    'running',
    'start-up s',
    'progress p50 ms',
    'progress p95 ms',
    'samples',
    'query p50 ms',
    'query p99 ms',
    'queries',
    'failed calls',
    'worker CPU %',
    'worker RSS MB',
    'server CPU %',
  ];
  process.stdout.write(
    markdownTable(
      headers.map((h) => [h, 'right']),
      rows.map((r) => [
        r.count,
        f(r.intervalMs / 1000),
        r.running,
        f(r.startedS, 1),
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
      ])
    ) + '\n'
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
