#!/usr/bin/env node
// The same three workloads on five durable-execution systems, one after another on this machine,
// printed as one Markdown table with ratios to the fastest and each system's settings:
//   bare Temporal (TypeScript SDK only), longrun, Restate, DBOS Transact, LangGraph JS.
// (a) a 3-step task of trivial steps: latency from start to result over --runs sequential tasks
//     (median, p95), and throughput with --concurrency tasks in flight for --tasks tasks;
// (b) one task of --items items with a checkpoint after every item: wall time, and its ratio to a
//     plain loop doing the same items (append `index pid` to a ledger file) with no persistence;
// (c) the same task, its work process SIGKILLed once half the items are in the ledger and started
//     again at once: time from the restart (spawn) to the first item the new process does, and how
//     many items were done twice (indices in the ledger more than once).
// Each system's work runs in a process of its own (worker, service endpoint or app; see
// bench/peers/*.mjs), so (c) kills a real process. The systems run one at a time, each on a server of
// its own (Temporal dev server, Restate server) or its own database in one local PostgreSQL.
//
//   npm run build && node bench/peers.mjs [--runs 30] [--tasks 200] [--concurrency 20] [--items 1000]
//                                         [--item-runs 3] [--systems temporal,longrun,restate,dbos,langgraph]
// The peers are bench-only dependencies in bench/peers/package.json (exact versions, with a lock
// file); they are installed on the first run (`npm ci --prefix bench/peers --ignore-scripts`).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { freePort } from './support.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const PEERS = join(HERE, 'peers');
const ROOT = join(HERE, '..');
const SYSTEMS = ['temporal', 'longrun', 'restate', 'dbos', 'langgraph'];

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '30' },
    tasks: { type: 'string', default: '200' },
    concurrency: { type: 'string', default: '20' },
    items: { type: 'string', default: '1000' },
    'item-runs': { type: 'string', default: '3' },
    systems: { type: 'string', default: SYSTEMS.join(',') },
  },
});
const num = (flag) => {
  const n = Number(values[flag]);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${flag}: must be a positive whole number`);
  return n;
};
const runs = num('runs');
const tasks = num('tasks');
const concurrency = num('concurrency');
const items = num('items');
const itemRuns = num('item-runs');
const chosen = values.systems.split(',').map((s) => s.trim());
for (const s of chosen)
  if (!SYSTEMS.includes(s)) throw new Error(`--systems: unknown "${s}" (${SYSTEMS.join(', ')})`);
const say = (line) => process.stderr.write(`peers: ${line}\n`);

// The peers, installed from bench/peers' own lock file the first time (never into the project's).
let installNote = 'already installed (bench/peers/node_modules present)';
if (!existsSync(join(PEERS, 'node_modules'))) {
  say('installing the peers (npm ci --prefix bench/peers --ignore-scripts) ...');
  const t = performance.now();
  // No install scripts: none of the peers needs one (the Restate server binary comes in a platform
  // package), and the one there is (@scarf/scarf, under the Restate server package) is usage telemetry.
  const r = spawnSync('npm', ['ci', '--prefix', PEERS, '--ignore-scripts', '--no-audit', '--no-fund'], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, SCARF_ANALYTICS: 'false' },
  });
  if (r.status !== 0) throw new Error(`npm ci --prefix bench/peers failed (exit ${r.status})`);
  installNote = `installed now in ${((performance.now() - t) / 1000).toFixed(1)} s (npm ci --prefix bench/peers --ignore-scripts)`;
  say(installNote);
}
if (!existsSync(join(ROOT, 'dist', 'index.js')))
  throw new Error('dist/ is missing: run `npm run build` first');

const common = await import('./peers/common.mjs');
const { children, readLedger, waitFor, ledgerItem, requireRepo } = common;
const drivers = {
  temporal: () => import('./peers/temporal.mjs'),
  longrun: () => import('./peers/longrun.mjs'),
  restate: () => import('./peers/restate.mjs'),
  dbos: () => import('./peers/dbos.mjs'),
  langgraph: () => import('./peers/langgraph.mjs'),
};

const dir = mkdtempSync(join(tmpdir(), 'longrun-bench-peers-'));
let devServer = null;
let postgres = null;
let cleaned = false;
async function cleanup() {
  if (cleaned) return;
  cleaned = true;
  for (const child of children) child.kill('SIGKILL');
  await devServer?.stop(2000).catch(() => {});
  if (postgres) postgres.stopNow();
  rmSync(dir, { recursive: true, force: true });
}
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    say(`${signal}: stopping every process this run started`);
    void cleanup().finally(() => process.exit(130));
  });
}

const sorted = (xs) => [...xs].sort((a, b) => a - b);
const median = (xs) => sorted(xs)[Math.floor((xs.length - 1) / 2)];
const p95 = (xs) => sorted(xs)[Math.min(xs.length - 1, Math.ceil(xs.length * 0.95) - 1)];

function temporalVersion(cliPath) {
  const out = execFileSync(cliPath, ['--version']).toString();
  return out.match(/Server ([\d.]+)/)?.[1] ?? out.trim();
}

/** The infrastructure a system needs, started fresh (servers) or shared (PostgreSQL, one database each). */
async function infraFor(system, sysDir) {
  if (system === 'temporal' || system === 'longrun') {
    const { temporalCliPath } = requireRepo('./dist/dev/temporal-cli.js');
    const { startDevServer } = requireRepo('./dist/dev/server.js');
    const cliPath = temporalCliPath({ quiet: true });
    const server = await startDevServer({
      cliPath,
      dataDir: join(sysDir, 'server'),
      port: await freePort(),
      uiPort: 0,
    });
    devServer = server;
    return { devServer: { address: server.address, version: temporalVersion(cliPath) } };
  }
  if (system === 'dbos' || system === 'langgraph') {
    if (!postgres) {
      const { startPostgres } = await import('./peers/postgres.mjs');
      postgres = await startPostgres({ dir, freePort });
    }
    return { postgres };
  }
  return {};
}

async function measure(system) {
  const sysDir = join(dir, system);
  mkdirSync(sysDir, { recursive: true });
  const mod = await drivers[system]();
  const infra = await infraFor(system, sysDir);
  const driver = await mod.setup({ dir: sysDir, freePort, ...infra });
  const ledger = (name) => join(sysDir, `${name}.ledger`);
  try {
    await driver.startWork();
    // Warm-up, as a long-lived worker would be: first tasks build sandboxes, pools, prepared statements.
    for (let i = 0; i < 5; i++) await driver.three(`${system}-warm-${i}`);
    await driver.items(`${system}-warm-items`, 20, ledger('warm'));

    say(`${mod.name}: (a) ${runs} sequential 3-step tasks`);
    const latencies = [];
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      await driver.three(`${system}-seq-${i}`);
      latencies.push(performance.now() - t);
    }
    say(`${mod.name}: (a) ${tasks} tasks, ${concurrency} in flight`);
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < tasks) await driver.three(`${system}-par-${next++}`);
      })
    );
    const throughput = tasks / ((performance.now() - t0) / 1000);

    say(`${mod.name}: (b) ${itemRuns} x ${items} items`);
    const walls = [];
    for (let r = 0; r < itemRuns; r++) {
      const t = performance.now();
      await driver.items(`${system}-items-${r}`, items, ledger(`items-${r}`));
      walls.push(performance.now() - t);
      const done = new Set(readLedger(ledger(`items-${r}`)).map((l) => l.index));
      if (done.size !== items) throw new Error(`(b): ${done.size} of ${items} items in the ledger`);
    }

    say(`${mod.name}: (c) SIGKILL of the work process after ${Math.floor(items / 2)} of ${items} items`);
    const crashLedger = ledger('crash');
    const crashId = `${system}-crash`;
    const finish = await driver.startItems(crashId, items, crashLedger);
    await waitFor(
      'half the items',
      () => readLedger(crashLedger).length >= Math.floor(items / 2),
      600_000,
      2
    );
    await driver.kill();
    const beforeKill = readLedger(crashLedger).length;
    const restartedAt = performance.now();
    const work = await driver.startWork();
    const readyMs = performance.now() - restartedAt;
    await driver.afterRestart?.(crashId, items);
    await waitFor(
      'the first resumed item',
      () => readLedger(crashLedger).some((l) => l.pid === work.pid),
      600_000,
      2
    );
    const firstItemMs = performance.now() - restartedAt;
    await finish();
    const lines = readLedger(crashLedger);
    const distinct = new Set(lines.map((l) => l.index));
    if (distinct.size !== items) throw new Error(`(c): ${distinct.size} of ${items} items in the ledger`);
    return {
      system,
      name: mod.name,
      settings: driver.settings,
      medianMs: median(latencies),
      p95Ms: p95(latencies),
      throughput,
      wallMs: median(walls),
      walls,
      firstItemMs,
      readyMs,
      beforeKill,
      redone: lines.length - distinct.size,
    };
  } finally {
    await driver.close().catch((err) => say(`${mod.name}: close: ${err.message}`));
    if (devServer) {
      await devServer.stop();
      devServer = null;
    }
  }
}

/** The plain loop of (b): the same items, no persistence, in this process. Median of 5. */
function plainLoop() {
  const path = join(dir, 'plain.ledger');
  const times = Array.from({ length: 5 }, () => {
    writeFileSync(path, '');
    const t = performance.now();
    for (let i = 0; i < items; i++) ledgerItem(path, i);
    return performance.now() - t;
  });
  return median(times);
}

const results = [];
const leftOut = [];
let plainMs;
try {
  plainMs = plainLoop();
  for (const system of chosen) {
    try {
      results.push(await measure(system));
    } catch (err) {
      say(`${system}: FAILED: ${err.stack ?? err}`);
      leftOut.push(
        `${system}: left out of the table, the run failed: ${String(err.message ?? err).split('\n')[0]}`
      );
      for (const child of children) child.kill('SIGKILL');
    }
  }
} finally {
  await cleanup();
}

const min = (k) => Math.min(...results.map((r) => r[k]));
const max = (k) => Math.max(...results.map((r) => r[k]));
const times = (x, best) => `${(x / best).toFixed(1)}x`;
const cell = (x, digits = 0) => x.toFixed(digits);
const line = (cells) => `| ${cells.join(' | ')} |`;
const cpu = cpus();
const out = [
  `peers benchmark, ${new Date().toISOString().slice(0, 10)}: ${cpu.length} cores (${cpu[0]?.model.trim()}), ` +
    `${(totalmem() / 2 ** 30).toFixed(0)} GiB memory, Node ${process.version}. A shared 2-core machine: timings vary ` +
    'from run to run; compare the ratios more than the absolute numbers.',
  `runs: (a) ${runs} sequential tasks for latency, ${tasks} tasks with ${concurrency} in flight for throughput; ` +
    `(b) ${itemRuns} runs of ${items} items (median); (c) 1 crash run of ${items} items, SIGKILL after ${Math.floor(items / 2)}.`,
  `plain loop of (b) (the same ${items} ledger appends, no persistence): ${plainMs.toFixed(1)} ms.`,
  `peers install: ${installNote}.`,
  '',
  line([
    'system', '(a) median ms', 'p95 ms', 'median vs fastest', 'tasks/s', 'tasks/s vs fastest',
    `(b) ${items} items wall s`, 'vs plain loop', 'wall vs fastest', '(c) restart → first item ms', 'vs fastest', 'items redone',
  ]), // prettier-ignore
  line(['---', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:']),
  ...results.map(
    (r) =>
    line([
      r.name, cell(r.medianMs, 1), cell(r.p95Ms, 1), times(r.medianMs, min('medianMs')),
      cell(r.throughput, 1), times(max('throughput'), r.throughput),
      cell(r.wallMs / 1000, 2), `${Math.round(r.wallMs / plainMs)}x`, times(r.wallMs, min('wallMs')),
      cell(r.firstItemMs), times(r.firstItemMs, min('firstItemMs')), String(r.redone),
    ]) // prettier-ignore
  ),
  '',
  '"vs fastest": how many times the best row\'s value (time over the fastest time; for tasks/s, the highest over this row\'s). ' +
    '(c) is timed from the spawn of the new work process, so it includes that process starting ' +
    `(ready after: ${results.map((r) => `${r.name} ${Math.round(r.readyMs)} ms`).join(', ')}).`,
  `(c) items in the ledger when the kill landed: ${results.map((r) => `${r.name} ${r.beforeKill}`).join(', ')} ` +
    '(the kill follows the ledger poll by a few ms, so fast items overshoot half).',
  `(b) runs, s: ${results.map((r) => `${r.name} ${r.walls.map((w) => (w / 1000).toFixed(2)).join(' / ')}`).join('; ')}.`,
  ...leftOut.map((l) => `- ${l}`),
  '',
  'settings:',
  ...results.flatMap((r) => [`- ${r.name}:`, ...r.settings.map((s) => `  - ${s}`)]),
];
process.stdout.write(`${out.join('\n')}\n`);
process.exit(leftOut.length ? 1 : 0);
