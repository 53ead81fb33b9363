#!/usr/bin/env node
// Recovery from a worker crash, per durability level. For each level: a dev server and a worker
// process of its own; a one-step task of CPU-bound items (each appended to a ledger file outside the
// worker); the worker is SIGKILLed once a fixed share of the items is done and a new worker process is
// started at once. Measured per run, from the SIGKILL:
//   - noticed: the server fails the dead attempt (heartbeat timeout; pending activity's last attempt
//     complete time),
//   - restarted: the new attempt starts on the new worker (pending activity's last started time),
//   - resumed: the first item the new worker writes to the ledger,
//   - redone: items the dead worker did after the cursor the new attempt resumed from, and the wall
//     time of that lost work,
//   - step done → workflow task: from the step's completion to the next workflow task starting.
//     When the step completes within about 10 s of the kill, the workflow task first waits on the
//     dead worker's sticky queue for the worker's `stickyQueueScheduleToStartTimeout`
//     (`--kill-at 0.995` shows it).
// The levels run side by side (each with its own server and worker). On a machine with fewer than 4
// cores the worker picks the `small` hardware profile and every heartbeat timeout is 1.5x longer;
// --hardware standard overrides.
//
//   npm run build && node bench/recovery.mjs [--repeat 3] [--levels basic,standard,high]
//     [--items 2000] [--item-ms 5] [--kill-at 0.3] [--hardware small|standard]
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { calibrate, freePort, markdownTable, work } from './support.mjs';

const require = createRequire(import.meta.url);
const { values } = parseArgs({
  options: {
    repeat: { type: 'string', default: '3' },
    levels: { type: 'string', default: 'basic,standard,high' },
    items: { type: 'string', default: '2000' },
    'item-ms': { type: 'string', default: '5' },
    'kill-at': { type: 'string', default: '0.3' },
    hardware: { type: 'string' },
    // internal: run as a worker process
    worker: { type: 'boolean', default: false },
    address: { type: 'string' },
    'task-queue': { type: 'string' },
    dir: { type: 'string' },
  },
});

if (values.worker) {
  // Worker process: the longrun worker (same factory and options as `dist/worker/main.js`) with one action.
  const longrun = { ...require('../dist/index.js'), ...require('../dist/worker/index.js') };
  const { NativeConnection, Runtime, DefaultLogger } = require('@temporalio/worker');
  const { z } = require('zod');
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const action = longrun.defineAction({
    name: 'bench.ledger',
    description: 'CPU-bound items, each appended to a ledger file',
    input: z.object({ items: z.number().int(), size: z.number().int(), ledger: z.string() }),
    async run(ctx, input) {
      const all = Array.from({ length: input.items }, (_, i) => i);
      for await (const i of ctx.checkpointed(all)) {
        work(i, input.size);
        const line = { pid: process.pid, attempt: ctx.attempt, index: i, at: Date.now() };
        appendFileSync(input.ledger, `${JSON.stringify(line)}\n`);
      }
      return { items: input.items };
    },
  });
  const config = { ...longrun.loadConfig({}, values.dir), taskQueue: values['task-queue'] };
  const connection = await NativeConnection.connect({ address: values.address });
  const { worker } = await longrun.createLongrunWorker({ config, connection, actions: [action] });
  await worker.run();
  process.exit(0);
}

const repeat = Number(values.repeat);
const items = Number(values.items);
const killAt = Math.floor(items * Number(values['kill-at']));
const levels = values.levels.split(',');
const size = calibrate(Number(values['item-ms']));
const { temporalCliPath } = require('../dist/dev/temporal-cli.js');
const { startDevServer } = require('../dist/dev/server.js');
const { LongrunClient, loadConfig } = require('../dist/index.js');
const cliPath = temporalCliPath({ quiet: true });
const dir = mkdtempSync(join(tmpdir(), 'longrun-bench-recovery-'));
const servers = [];
const workers = new Set();

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const ms = (ts) => (ts ? Number(ts.seconds) * 1000 + Math.floor((ts.nanos ?? 0) / 1e6) : undefined);

function spawnWorker(address, taskQueue, dataDir) {
  const args = [fileURLToPath(import.meta.url), '--worker', '--address', address, '--task-queue', taskQueue, '--dir', dataDir];
  const env = { ...process.env, ...(values.hardware ? { LONGRUN_HARDWARE_PROFILE: values.hardware } : {}) };
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const worker = { child, pid: child.pid, exited };
  workers.add(worker);
  void exited.then(() => workers.delete(worker));
  return worker;
} // prettier-ignore

function readLedger(path) {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.endsWith('}'))
    .map((line) => JSON.parse(line));
}

async function waitFor(what, probe, timeoutMs = 600_000, everyMs = 50) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

const spec = (taskId, level, ledger) => ({
  v: 1,
  taskId,
  agent: 'bench',
  durability: level,
  phases: [{ id: 'work', steps: [{ id: 'items', action: 'bench.ledger', input: { items, size, ledger } }] }],
});

/** The workflow's history: the step's heartbeat timeout and the step-done → next workflow task gap. */
async function fromHistory(longrun, taskId) {
  const { events } = await longrun.client.workflow.getHandle(taskId).fetchHistory();
  const at = (e) => ms(e.eventTime);
  const scheduled = events.find((e) => e.activityTaskScheduledEventAttributes);
  const heartbeatTimeout = scheduled?.activityTaskScheduledEventAttributes.heartbeatTimeout;
  const doneIndex = events.findIndex((e) => e.activityTaskCompletedEventAttributes);
  const nextTask = events.slice(doneIndex).find((e) => e.workflowTaskStartedEventAttributes);
  return {
    heartbeatTimeoutMs: heartbeatTimeout
      ? Number(heartbeatTimeout.seconds ?? 0) * 1000 + Math.round((heartbeatTimeout.nanos ?? 0) / 1e6)
      : undefined,
    stepDoneToWorkflowTaskMs: nextTask ? at(nextTask) - at(events[doneIndex]) : undefined,
    workflowTaskTimeouts: events.filter((e) => e.workflowTaskTimedOutEventAttributes).length,
  };
}

async function runLevel(level) {
  const server = await startDevServer({
    cliPath,
    dataDir: join(dir, level, 'server'),
    port: await freePort(),
    uiPort: 0,
  });
  servers.push(server);
  const taskQueue = `recovery-${level}`;
  const dataDir = join(dir, level, 'worker');
  mkdirSync(dataDir, { recursive: true });
  const longrun = await LongrunClient.connect({
    config: { ...loadConfig({}, dataDir), taskQueue },
    address: server.address,
  });
  let worker = spawnWorker(server.address, taskQueue, dataDir);
  const runs = [];
  try {
    // One uninterrupted task first, so the worker that gets killed is warm, as a long-lived one is.
    await longrun.start(spec(`${level}-warmup`, level, join(dir, level, 'warmup.jsonl')));
    await longrun.result(`${level}-warmup`);
    for (let r = 0; r < repeat; r++) {
      const taskId = `${level}-${r}`;
      const ledger = join(dir, level, `${taskId}.jsonl`);
      const startedAt = Date.now();
      await longrun.start(spec(taskId, level, ledger));
      await waitFor(`${killAt} items`, () => (readLedger(ledger).length >= killAt ? true : undefined));
      worker.child.kill('SIGKILL');
      await worker.exited;
      const killedAt = Date.now();
      const victim = worker.pid;
      worker = spawnWorker(server.address, taskQueue, dataDir);
      // Follow the step's pending activity until the new attempt runs on the new worker.
      let noticedAt;
      const restartedAt = await waitFor('the step to restart', async () => {
        const info = (await longrun.client.workflow.getHandle(taskId).describe()).raw.pendingActivities?.[0];
        if (!info || (info.attempt ?? 1) < 2) return undefined;
        noticedAt ??= ms(info.lastAttemptCompleteTime) ?? Date.now(); // else: first seen (100 ms polls)
        return info.state === 2 /* STARTED */ ? ms(info.lastStartedTime) : undefined;
      }, 600_000, 100); // prettier-ignore
      const resumed = await waitFor('the first resumed item', () =>
        readLedger(ledger).find((l) => l.pid !== victim)
      );
      await longrun.result(taskId);
      const lines = readLedger(ledger);
      const byVictim = lines.filter((l) => l.pid === victim);
      const redone = byVictim.filter((l) => l.index >= resumed.index);
      const kept = byVictim.filter((l) => l.index < resumed.index);
      const history = await fromHistory(longrun, taskId);
      runs.push({
        noticedMs: noticedAt - killedAt,
        restartedMs: restartedAt - killedAt,
        resumedMs: resumed.at - killedAt,
        redoneItems: redone.length,
        lostWorkMs: redone.length ? killedAt - (kept.at(-1)?.at ?? startedAt) : 0,
        ...history,
      });
      process.stderr.write(`recovery bench: ${level} run ${r + 1}: ${JSON.stringify(runs.at(-1))}\n`);
    }
  } finally {
    worker.child.kill('SIGTERM');
    await worker.exited;
    await longrun.close();
    await server.stop();
  }
  return { level, runs };
}

// Interrupted (Ctrl-C, SIGTERM): stop the workers and dev servers rather than orphaning them.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    process.stderr.write(`recovery bench: ${signal}, stopping workers and dev servers\n`);
    for (const w of workers) w.child.kill('SIGKILL');
    void Promise.all(servers.map((s) => s.stop(1000))).finally(() => {
      rmSync(dir, { recursive: true, force: true });
      process.exit(130);
    });
  });
}

process.stdout.write(
  `recovery benchmark: ${items} items of ~${values['item-ms']} ms CPU, SIGKILL after ${killAt}, ${repeat} runs per level, levels side by side\n`
);
let results;
try {
  results = await Promise.all(levels.map(runLevel));
} finally {
  for (const w of workers) w.child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}
const p50 = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const max = (xs) => Math.max(...xs);
const s = (x) => (x / 1000).toFixed(1);
process.stdout.write(
  `${markdownTable(
    [
      ['level', 'left'], ['heartbeat timeout s', 'right'], ['kill → noticed s p50', 'right'],
      ['kill → step restarted s p50', 'right'], ['kill → first resumed item s p50', 'right'], ['max', 'right'],
      ['redone items p50', 'right'], ['max', 'right'], ['lost work ms p50', 'right'], ['max', 'right'],
      ['step done → workflow task ms max', 'right'],
    ],
    results.map(({ level, runs }) => {
      const col = (k) => runs.map((r) => r[k]);
      return [
        level, s(runs[0].heartbeatTimeoutMs), s(p50(col('noticedMs'))), s(p50(col('restartedMs'))),
        s(p50(col('resumedMs'))), s(max(col('resumedMs'))), p50(col('redoneItems')), max(col('redoneItems')),
        p50(col('lostWorkMs')), max(col('lostWorkMs')), max(col('stepDoneToWorkflowTaskMs')),
      ];
    })
  )}\n`
); // prettier-ignore
