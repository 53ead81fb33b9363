#!/usr/bin/env node
// The resource monitor's own cost. One dev server and idle worker processes side by side, the same
// build, differing only in LONGRUN_MONITOR_INTERVAL_MS: two without a monitor (their difference is
// the machine's noise), one at the default 30 s, one at 1 s (30 times the default rate). After a
// warm-up, each worker's CPU time (utime + stime) and RSS are read from /proc at the start and the end
// of the window. Then, in this process, the cost of one sample (systeminformation, statfs, the event
// loop histogram) over --samples calls.
//
//   npm run build && node bench/monitor.mjs [--seconds 120] [--warmup 15] [--samples 50]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { freePort, markdownTable } from './support.mjs';

const require = createRequire(import.meta.url);
const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '120' },
    warmup: { type: 'string', default: '15' },
    samples: { type: 'string', default: '50' },
  },
});
const seconds = Number(values.seconds);
const warmup = Number(values.warmup);
const { temporalCliPath } = require('../dist/dev/temporal-cli.js');
const { startDevServer } = require('../dist/dev/server.js');
const { sampleMachine } = require('../dist/runtime/resource-monitor.js');
const dir = mkdtempSync(join(tmpdir(), 'longrun-bench-monitor-'));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const TICKS = 100; // USER_HZ

function usage(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return { cpuMs: ((Number(f[11]) + Number(f[12])) * 1000) / TICKS, rssBytes: Number(rss) * 1024 };
}

const configs = [
  { name: 'no monitor (a)', interval: '0' },
  { name: 'no monitor (b)', interval: '0' },
  { name: 'monitor every 30 s (default)', interval: '30000' },
  { name: 'monitor every 1 s', interval: '1000' },
];

const server = await startDevServer({
  cliPath: temporalCliPath({ quiet: true }),
  dataDir: join(dir, 'server'),
  port: await freePort(),
  uiPort: 0,
});
const workers = configs.map((c, i) => {
  const child = spawn(process.execPath, [join(import.meta.dirname, '..', 'dist', 'worker', 'main.js')], {
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: server.address,
      LONGRUN_TASK_QUEUE: `bench-monitor-${i}`,
      LONGRUN_DATA_DIR: join(dir, `worker-${i}`),
      LONGRUN_MONITOR_INTERVAL_MS: c.interval,
    },
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  return { ...c, child };
});
const stopAll = async () => {
  for (const w of workers) w.child.kill('SIGKILL');
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
};
for (const signal of ['SIGINT', 'SIGTERM'])
  process.once(signal, () => void stopAll().finally(() => process.exit(130)));

try {
  process.stdout.write(
    `monitor benchmark: ${workers.length} idle workers side by side, ${warmup} s warm-up, ${seconds} s window\n`
  );
  await sleep(warmup * 1000);
  const before = workers.map((w) => usage(w.child.pid));
  await sleep(seconds * 1000);
  const after = workers.map((w) => usage(w.child.pid));
  const rows = workers.map((w, i) => {
    const cpuMs = after[i].cpuMs - before[i].cpuMs;
    return [
      w.name,
      String(Math.round(cpuMs)),
      ((cpuMs / (seconds * 1000)) * 100).toFixed(2),
      (after[i].rssBytes / 1024 / 1024).toFixed(1),
      ((after[i].rssBytes - before[i].rssBytes) / 1024 / 1024).toFixed(1),
    ];
  });
  process.stdout.write(
    `\n${markdownTable(
      [
        ['worker', 'left'],
        ['CPU ms in window', 'right'],
        ['CPU % of a core', 'right'],
        ['RSS MB at end', 'right'],
        ['RSS change MB', 'right'],
      ],
      rows
    )}\n`
  );

  // One sample, in this process (the worker takes the same one at its interval).
  const loop = monitorEventLoopDelay({ resolution: 20 });
  loop.enable();
  const times = [];
  const cpu0 = process.cpuUsage();
  const heap0 = process.memoryUsage().heapUsed;
  for (let i = 0; i < Number(values.samples); i++) {
    const t = performance.now();
    await sampleMachine({ paths: [dir], loop, now: Date.now() });
    times.push(performance.now() - t);
  }
  const cpu = process.cpuUsage(cpu0);
  loop.disable();
  times.sort((a, b) => a - b);
  const q = (p) => times[Math.min(times.length - 1, Math.floor(p * times.length))].toFixed(2);
  process.stdout.write(
    `\n${markdownTable(
      [
        ['one sample', 'left'],
        ['median ms', 'right'],
        ['p95 ms', 'right'],
        ['CPU ms per sample', 'right'],
        ['heap KB per sample', 'right'],
      ],
      [
        [
          `${times.length} samples (systeminformation, statfs, loop)`,
          q(0.5),
          q(0.95),
          ((cpu.user + cpu.system) / 1000 / times.length).toFixed(2),
          ((process.memoryUsage().heapUsed - heap0) / 1024 / times.length).toFixed(1),
        ],
      ]
    )}\n`
  );
  process.stdout.write(
    '\nNoise: the two "no monitor" workers run the same configuration; their difference is what this machine varies by.\n'
  );
} finally {
  await stopAll();
}
