#!/usr/bin/env node
// Memory per running task on one worker: a longrun task (one step of waiting items) as built (zod's
// library and shared/ preloaded, src/worker/workflow-bundle.ts), the same with the bundles longrun had
// before (only zod preloaded; nothing preloaded), and the bare SDK floor (a workflow that awaits one
// activity at a time, bench/peers/temporal-workflows.mjs), in one run on one dev server.
//
// Each kind gets a fresh worker process holding every task cached, with its workflows on the main
// thread (`debugMode`) so that one full GC and `heapUsed` count their heap exactly. One warm-up task
// runs first (the bundle is loaded), then --tasks more start. Per task = (with all running - with the
// warm-up only) / tasks: the cached workflow and its running activity together.
//
//   npm run build && node bench/workflow-memory.mjs [--tasks 300] [--settle-s 10] [--heap-snapshots DIR]
//
// --heap-snapshots writes a heap snapshot with one task and with all of them per kind, to compare
// (Chrome DevTools, Memory, Comparison) and see what a task holds.
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { startDevBackend } from './backends.mjs';
import { markdownTable } from './support.mjs';

const require = createRequire(import.meta.url);
const { values } = parseArgs({
  options: {
    tasks: { type: 'string', default: '300' },
    'settle-s': { type: 'string', default: '10' },
    'heap-snapshots': { type: 'string' },
    worker: { type: 'string' },
    address: { type: 'string' },
    dir: { type: 'string' },
    bundle: { type: 'string' },
    queue: { type: 'string' },
  },
});
const tasks = Number(values.tasks);
const settleMs = Number(values['settle-s']) * 1000;
if (!(Number.isInteger(tasks) && tasks >= 10)) throw new Error('--tasks: an integer, at least 10');
if (!(settleMs >= 1000)) throw new Error('--settle-s: at least 1');
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
// Every task is cached and every activity runs: the point is what each one costs.
const HOLD_ALL = { debugMode: true, maxCachedWorkflows: 5_000, maxConcurrentActivityTaskExecutions: 5_000 };

/** Worker process of one kind; answers "memory" with its RSS and heap (MB) and running activities. */
async function runWorker(kind) {
  const { NativeConnection, Runtime, DefaultLogger, Worker } = require('@temporalio/worker');
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const connection = await NativeConnection.connect({ address: values.address });
  let running = 0;
  const waitForever = async (isCancelled) => {
    running++;
    while (!isCancelled()) await sleep(500);
  };
  let worker;
  if (kind === 'longrun') {
    const longrun = { ...require('../dist/index.js'), ...require('../dist/worker/index.js') };
    const { z } = require('zod');
    const wait = longrun.defineAction({
      name: 'bench.wait',
      description: 'Items of waiting (an I/O-bound step)',
      input: z.object({ items: z.number().int().min(1) }),
      async run(ctx, input) {
        running++;
        for await (const _ of ctx.checkpointed(
          Array.from({ length: input.items }, (_, i) => i),
          () => 'waiting'
        ))
          await sleep(500);
        return {};
      },
    });
    const config = { ...longrun.loadConfig(process.env, values.dir), taskQueue: values.queue };
    ({ worker } = await longrun.createLongrunWorker({
      config,
      connection,
      actions: [wait],
      workerOptions: {
        ...HOLD_ALL,
        ...(values.bundle ? { workflowBundle: { codePath: values.bundle } } : {}),
      },
    }));
  } else {
    const { Context } = require('@temporalio/activity');
    worker = await Worker.create({
      connection,
      taskQueue: values.queue,
      workflowBundle: { codePath: values.bundle },
      activities: {
        noop: async () => undefined,
        item: async () => {
          const ctx = Context.current();
          await waitForever(() => ctx.cancellationSignal.aborted);
        },
      },
      ...HOLD_ALL,
    });
  }
  process.on('message', (m) => {
    if (typeof m === 'string' && m.startsWith('snapshot:')) {
      global.gc?.();
      require('node:v8').writeHeapSnapshot(m.slice('snapshot:'.length));
      process.send?.('snapshot');
    } else if (m === 'memory') {
      global.gc?.();
      const { rss, heapUsed } = process.memoryUsage();
      process.send?.({ rss: rss / 2 ** 20, heap: heapUsed / 2 ** 20, running });
    }
  });
  process.on('SIGTERM', () => worker.shutdown());
  await worker.run();
  await connection.close();
  process.exit(0);
}

async function pool(items, concurrency, fn) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]);
    })
  );
}

const ask = (worker, message) =>
  new Promise((resolve) => {
    worker.once('message', resolve);
    worker.send(message);
  });

/** The medians of five readings a second apart (each after a full GC), MB. */
async function memoryOf(worker) {
  const readings = [];
  for (let i = 0; i < 5; i++) {
    readings.push(await ask(worker, 'memory'));
    await sleep(1_000);
  }
  const median = (k) => readings.map((r) => r[k]).sort((a, b) => a - b)[2];
  return { rss: median('rss'), heap: median('heap') };
}

async function snapshot(worker, name) {
  if (values['heap-snapshots'])
    await ask(worker, `snapshot:${join(values['heap-snapshots'], `${name}.heapsnapshot`)}`);
}

async function measure(backend, longrun, dir, kind) {
  const queue = `bench-memory-${kind.id}`;
  const client = await longrun.LongrunClient.connect({
    config: { ...longrun.loadConfig({}, dir), taskQueue: queue },
    address: backend.address,
  });
  const clients = { longrun: client, temporal: client.client };
  const worker = fork(
    fileURLToPath(import.meta.url),
    [
      '--worker',
      kind.id === 'bare' ? 'bare' : 'longrun',
      '--address',
      backend.address,
      '--dir',
      join(dir, queue),
      '--queue',
      queue,
      '--bundle',
      kind.bundle ?? '',
    ],
    { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: ['--expose-gc'] }
  );
  const running = async (want) => {
    while ((await ask(worker, 'memory')).running < want) await sleep(500);
  };
  const ids = [`${queue}-warm-up`, ...Array.from({ length: tasks }, (_, i) => `${queue}-${i}`)];
  try {
    await kind.start(clients, queue, ids[0]);
    await running(1);
    await sleep(settleMs);
    const one = await memoryOf(worker);
    await snapshot(worker, `${kind.id}-one-task`);
    await pool(ids.slice(1), 20, (id) => kind.start(clients, queue, id));
    await running(ids.length);
    await sleep(settleMs);
    const all = await memoryOf(worker);
    await snapshot(worker, `${kind.id}-all-tasks`);
    await pool(ids, 20, (id) => clients.temporal.workflow.getHandle(id).terminate('benchmark done'));
    return { kind: kind.name, one, all };
  } finally {
    worker.kill('SIGTERM');
    await Promise.race([new Promise((resolve) => worker.once('exit', resolve)), sleep(15_000)]);
    worker.kill('SIGKILL');
    await client.close();
  }
}

async function orchestrate() {
  const longrun = { ...require('../dist/index.js'), ...require('../dist/worker/index.js') };
  const { bundleWorkflowCode } = require('@temporalio/worker');
  const dir = mkdtempSync(join(tmpdir(), 'longrun-bench-memory-'));
  const bareBundle = join(dir, 'bare.js');
  const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error: console.error, log() {} };
  const { code } = await bundleWorkflowCode({
    workflowsPath: fileURLToPath(new URL('./peers/temporal-workflows.mjs', import.meta.url)),
    logger: quiet,
  });
  writeFileSync(bareBundle, code);
  // longrun's workflows with nothing preloaded (each workflow loads its own zod and shared/), and
  // with only zod's library preloaded (each loads its own shared/ and builds the schemas it uses).
  const bundleOf = async (name, preloadModules) => {
    const path = join(dir, `${name}.js`);
    const { code } = await bundleWorkflowCode({
      workflowsPath: require.resolve('../dist/workflows'),
      preloadModules,
      logger: quiet,
    });
    writeFileSync(path, code);
    return path;
  };
  const unsharedBundle = await bundleOf('unshared', []);
  const zodOnlyBundle = await bundleOf('zod-only', [require.resolve('../dist/workflows/zod-library')]);
  const longrunTask = (clients, queue, id) =>
    clients.longrun.start({
      v: 1,
      taskId: id,
      agent: 'bench',
      phases: [{ id: 'work', steps: [{ id: 'wait', action: 'bench.wait', input: { items: 10_000 } }] }],
    });
  const kinds = [
    {
      id: 'bare',
      name: 'bare SDK workflow (one activity at a time)',
      bundle: bareBundle,
      start: (clients, queue, id) =>
        clients.temporal.workflow.start('items', { taskQueue: queue, workflowId: id, args: [1_000_000, ''] }),
    },
    {
      id: 'unshared',
      name: 'longrun task, nothing preloaded: each workflow loads zod and shared/',
      bundle: unsharedBundle,
      start: longrunTask,
    },
    {
      id: 'zod-only',
      name: "longrun task, zod's library preloaded: each workflow loads shared/",
      bundle: zodOnlyBundle,
      start: longrunTask,
    },
    { id: 'longrun', name: 'longrun task (one step of waiting items), as built', start: longrunTask },
  ];
  process.stdout.write(
    `workflow memory benchmark: ${tasks} running tasks per kind, each cached, on one worker; ` +
      `${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB\n`
  );
  const backend = await startDevBackend(join(dir, 'dev'));
  const rows = [];
  try {
    for (const kind of kinds) {
      const row = await measure(backend, longrun, dir, kind);
      process.stdout.write(
        `  ${row.kind}: ${((row.all.heap - row.one.heap) / tasks).toFixed(2)} MB of heap per task\n`
      );
      rows.push(row);
    }
  } finally {
    await backend.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const f = (x, digits = 0) => x.toFixed(digits);
  const per = (r, k) => (r.all[k] - r.one[k]) / tasks;
  process.stdout.write(
    markdownTable(
      [
        ['kind', 'left'],
        ['heap, 1 task MB', 'right'],
        [`heap, ${tasks + 1} tasks MB`, 'right'],
        ['heap per task MB', 'right'],
        ['RSS, 1 task MB', 'right'],
        [`RSS, ${tasks + 1} tasks MB`, 'right'],
        ['RSS per task MB', 'right'],
      ],
      rows.map((r) => [
        r.kind,
        f(r.one.heap),
        f(r.all.heap),
        f(per(r, 'heap'), 2),
        f(r.one.rss),
        f(r.all.rss),
        f(per(r, 'rss'), 2),
      ])
    ) +
      '\nEach reading is the median of five a second apart, each after a full GC. The heap varies by ' +
      'well under 1 MB between readings; RSS also holds memory V8 has not given back, so it varies ' +
      'by several MB.\n'
  );
}

if (values.worker) await runWorker(values.worker);
else {
  await orchestrate();
  process.exit(0);
}
