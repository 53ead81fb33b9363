#!/usr/bin/env node
// Overhead of durability: the same CPU-bound workload (items of about 5 ms of real work) run
//   (a) as a plain loop in one process,
//   (b) as a longrun task at each durability level (one step, a checkpoint after every item; the
//       worker is warmed up by a one-item task first, as a long-lived worker would be),
//   (c) with the seeds' pattern: a JSON checkpoint file written and fsynced after every item;
// and, for parallel work, the same I/O-bound items (each a wait, like a model call) as 8 steps one
// after another and as one fan-out of 8 sub-steps running at once, beside plain sequential and
// Promise.all loops.
// Each variant runs in its own process (so peak RSS is its own) against one local dev server.
//
// Besides wall time it reports the time spent inside the step's loop ("in-step"), so the per-item cost
// of checkpointing (in-step vs plain) and the fixed cost of a task (start, schedule, complete: wall
// minus in-step) can be told apart.
//
//   npm run build && node bench/overhead.mjs [--items 6000] [--item-ms 5] [--repeat 5]
//                                            [--io-items 40] [--io-ms 50] [--fan 8]
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, fsyncSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { calibrate, freePort, work } from './support.mjs';

const require = createRequire(import.meta.url);
const { values } = parseArgs({
  options: {
    items: { type: 'string', default: '6000' },
    repeat: { type: 'string', default: '5' },
    'item-ms': { type: 'string', default: '5' },
    'io-items': { type: 'string', default: '40' },
    'io-ms': { type: 'string', default: '50' },
    fan: { type: 'string', default: '8' },
    variant: { type: 'string' },
    address: { type: 'string' },
    rounds: { type: 'string' },
    dir: { type: 'string' },
  },
});
const items = Number(values.items);
const itemMs = Number(values['item-ms']);
if (!Number.isInteger(items) || items <= 0) throw new Error(`--items: must be a positive whole number`);
const ioItems = Number(values['io-items']);
const ioMs = Number(values['io-ms']);
const fan = Number(values.fan);
for (const [flag, n] of [
  ['--io-items', ioItems],
  ['--io-ms', ioMs],
  ['--fan', fan],
]) {
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${flag}: must be a positive whole number`);
}
const wait = () => new Promise((resolve) => setTimeout(resolve, ioMs));

/**
 * One item of real CPU work: SHA-256 of `size` bytes (the item index stamped in), allocating almost
 * nothing, so the comparison measures durability overhead rather than garbage collection.
 */

async function runVariant(variant, rounds, address, dir) {
  mkdirSync(dir, { recursive: true });
  const started = performance.now();
  let events = null;
  let loopMs = null;
  if (variant === 'plain') {
    for (let i = 0; i < items; i++) work(i, rounds);
  } else if (variant === 'io-plain-sequential') {
    for (let s = 0; s < fan; s++) for (let i = 0; i < ioItems; i++) await wait();
  } else if (variant === 'io-plain-parallel') {
    await Promise.all(
      Array.from({ length: fan }, async () => {
        for (let i = 0; i < ioItems; i++) await wait();
      })
    );
  } else if (variant === 'fsync-json') {
    const path = join(dir, 'checkpoint.json');
    let acc = 0;
    for (let i = 0; i < items; i++) {
      acc = (acc + work(i, rounds)) % 65536;
      const fd = openSync(path, 'w');
      writeSync(fd, JSON.stringify({ taskId: 'bench', index: i + 1, acc, at: Date.now() }));
      fsyncSync(fd);
      closeSync(fd);
    }
  } else {
    const io = variant.startsWith('longrun-io-');
    const level = io ? 'standard' : variant.replace('longrun-', '');
    const longrun = { ...require('../dist/index.js'), ...require('../dist/worker/index.js') };
    const { NativeConnection, Runtime, DefaultLogger } = require('@temporalio/worker');
    const { z } = require('zod');
    Runtime.install({ logger: new DefaultLogger('WARN') });
    const action = longrun.defineAction({
      name: 'bench.work',
      description: 'CPU-bound items',
      input: z.object({ items: z.number().int() }),
      async run(ctx, input) {
        const all = Array.from({ length: input.items }, (_, i) => i);
        let acc = 0;
        const t = performance.now();
        if (process.env.BENCH_NO_CHECKPOINT) for (const i of all) acc = (acc + work(i, rounds)) % 65536;
        else for await (const i of ctx.checkpointed(all)) acc = (acc + work(i, rounds)) % 65536;
        loopMs = performance.now() - t;
        return { acc };
      },
    });
    const waitAction = longrun.defineAction({
      name: 'bench.wait',
      description: 'I/O-bound items: each a wait',
      input: z.object({ items: z.number().int() }),
      async run(ctx, input) {
        const all = Array.from({ length: input.items }, (_, i) => i);
        for await (const _item of ctx.checkpointed(all)) await wait();
        return { items: input.items };
      },
    });
    const config = { ...longrun.loadConfig({}, dir), taskQueue: `bench-${variant}` };
    const connection = await NativeConnection.connect({ address });
    const { worker } = await longrun.createLongrunWorker({
      config,
      connection,
      actions: [action, waitAction],
    });
    const client = await longrun.LongrunClient.connect({ config, address });
    const taskId = `bench-${level}-${Date.now()}`;
    const steps = (n) => {
      if (variant === 'longrun-io-sequential') {
        return Array.from({ length: fan }, (_, s) => ({
          id: `s${s}`,
          action: 'bench.wait',
          input: { items: n },
        }));
      }
      if (variant === 'longrun-io-fan-out') {
        const each = Array.from({ length: fan }, (_, s) => s);
        return [{ id: 'fan', action: 'bench.wait', forEach: each, maxParallel: fan, input: { items: n } }];
      }
      return [{ id: 'items', action: 'bench.work', input: { items: n } }];
    };
    const task = (id, n) => ({
      v: 1,
      taskId: id,
      agent: 'bench',
      durability: level,
      phases: [{ id: 'work', steps: steps(n) }],
    });
    let t0 = 0;
    await worker.runUntil(async () => {
      // Warm up: a worker's first task also builds its workflow sandbox (once per worker process).
      await client.start(task(`${taskId}-warmup`, 1));
      await client.result(`${taskId}-warmup`);
      t0 = performance.now();
      await client.start(task(taskId, io ? ioItems : items));
      await client.result(taskId);
    });
    const ms = performance.now() - t0;
    const history = await client.client.workflow.getHandle(taskId).fetchHistory();
    events = history.events?.length ?? 0;
    if (process.env.BENCH_TRACE) {
      const t0ms =
        Number(history.events[0].eventTime.seconds) * 1000 + history.events[0].eventTime.nanos / 1e6;
      for (const e of history.events) {
        const t = Number(e.eventTime.seconds) * 1000 + e.eventTime.nanos / 1e6;
        process.stderr.write(`${e.eventId} +${(t - t0ms).toFixed(0)} ${e.eventType}\n`);
      }
    }
    await client.close();
    await connection.close();
    return { ms, loopMs, events, maxRssMb: process.resourceUsage().maxRSS / 1024 };
  }
  const ms = performance.now() - started;
  return { ms, loopMs: ms, events, maxRssMb: process.resourceUsage().maxRSS / 1024 };
}

if (values.variant) {
  const result = await runVariant(values.variant, Number(values.rounds), values.address, values.dir);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}

// Orchestrator: one dev server, then each variant in a child process, then the table.
const { temporalCliPath } = require('../dist/dev/temporal-cli.js');
const { startDevServer } = require('../dist/dev/server.js');
const dir = mkdtempSync(join(tmpdir(), 'longrun-bench-'));
const rounds = calibrate(itemMs);
const server = await startDevServer({
  cliPath: temporalCliPath({ quiet: true }),
  dataDir: join(dir, 'server'),
  port: await freePort(),
  uiPort: 0,
});
const cpu = execFileSync('nproc').toString().trim();
process.stdout.write(
  `overhead benchmark: ${items} items of ~${itemMs} ms CPU (SHA-256 of ${(rounds / 1024 / 1024).toFixed(1)} MiB each), ${cpu} cores\n`
);
const cpuVariants = ['plain', 'longrun-basic', 'longrun-standard', 'longrun-high', 'fsync-json'];
const ioVariants = [
  'io-plain-sequential',
  'io-plain-parallel',
  'longrun-io-sequential',
  'longrun-io-fan-out',
];
const variants = [...cpuVariants, ...ioVariants];
const repeat = Number(values.repeat);
const runs = Object.fromEntries(variants.map((v) => [v, []]));
let child = null;
// Interrupted (Ctrl-C, SIGTERM): stop the variant and the dev server rather than orphaning them.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    process.stderr.write(`overhead benchmark: ${signal}, stopping the dev server\n`);
    child?.kill('SIGKILL');
    void server.stop().finally(() => {
      rmSync(dir, { recursive: true, force: true });
      process.exit(130);
    });
  });
}
try {
  // Round robin, so drift in the machine's speed touches every variant alike; the median is reported.
  for (let round = 0; round < repeat; round++)
    for (const variant of variants) {
      child = spawn(
      process.execPath,
      [fileURLToPath(import.meta.url), '--variant', variant, '--items', String(items), '--rounds', String(rounds),
        '--address', server.address, '--dir', join(dir, variant)],
      { stdio: ['ignore', 'pipe', 'inherit'] }
    ); // prettier-ignore
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      const code = await new Promise((resolve) => child.once('exit', resolve));
      if (code !== 0) throw new Error(`variant ${variant} exited with ${code}`);
      runs[variant].push(JSON.parse(out.trim().split('\n').pop()));
    }
} finally {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rowOf = (variant) => ({
  variant,
  ms: median(runs[variant].map((r) => r.ms)),
  loopMs: median(runs[variant].map((r) => r.loopMs)),
  fixedMs: median(runs[variant].map((r) => r.ms - r.loopMs)),
  spread: runs[variant].map((r) => (r.ms / 1000).toFixed(2)).join(' / '),
  maxRssMb: Math.max(...runs[variant].map((r) => r.maxRssMb)),
  events: runs[variant][0].events,
});
const rows = cpuVariants.map(rowOf);
const base = rows[0].ms;
const line = (cells) => `| ${cells.join(' | ')} |`;
process.stdout.write(
  [
    line([
      'variant',
      'wall s (median)',
      'runs',
      'vs plain',
      'in-step s',
      'in-step vs plain',
      'fixed s',
      'peak RSS MB',
      'history events / 1000 items',
    ]),
    line(['---', '---:', '---', '---:', '---:', '---:', '---:', '---:', '---:']),
    ...rows.map((r) =>
      line([
        r.variant,
        (r.ms / 1000).toFixed(2),
        r.spread,
        `${(((r.ms - base) / base) * 100).toFixed(2)}%`,
        (r.loopMs / 1000).toFixed(2),
        `${(((r.loopMs - base) / base) * 100).toFixed(2)}%`,
        (r.fixedMs / 1000).toFixed(2),
        r.maxRssMb.toFixed(0),
        r.events === null ? '-' : ((r.events / items) * 1000).toFixed(1),
      ])
    ),
  ].join('\n') + '\n'
);
const io = Object.fromEntries(ioVariants.map((v) => [v, rowOf(v)]));
const sequential = io['longrun-io-sequential'].ms;
process.stdout.write(
  [
    '',
    `parallel work: ${fan} x ${ioItems} items of ${ioMs} ms of waiting (one step each, or one fan-out of ${fan})`,
    '',
    line(['variant', 'wall s (median)', 'runs', `speed-up vs ${fan} sequential steps`, 'vs its plain loop']),
    line(['---', '---:', '---', '---:', '---:']),
    ...[
      ['io-plain-sequential', null],
      ['io-plain-parallel', null],
      ['longrun-io-sequential', 'io-plain-sequential'],
      ['longrun-io-fan-out', 'io-plain-parallel'],
    ].map(([v, plain]) => {
      const r = io[v];
      const vsPlain = plain ? `${(((r.ms - io[plain].ms) / io[plain].ms) * 100).toFixed(1)}%` : '-';
      return line([v, (r.ms / 1000).toFixed(2), r.spread, `${(sequential / r.ms).toFixed(2)}x`, vsPlain]);
    }),
  ].join('\n') + '\n'
);
