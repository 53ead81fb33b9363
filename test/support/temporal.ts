import { TestWorkflowEnvironment } from '@temporalio/testing';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  bundleWorkflowCode,
  Worker,
  type NativeConnection,
  type WorkerOptions,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import { actionRegistry, createActivities, type ActivityDeps, type AgentAction } from '../../src/activities';
import { LongrunClient } from '../../src/client';
import { catalogOf, publishActions } from '../../src/worker/action-publisher';
import { workflowBundleOptions } from '../../src/worker/workflow-bundle';
import { ProgressReporter } from '../../src/worker/progress-reporter';
import { progressBoardPlugin } from '../../src/worker/board-worker';
import { ArtifactStore } from '../../src/runtime/artifact-store';
import { DEFAULT_MAX_CHECKPOINT_INTERVAL_MS } from '../../src/shared/durability';
import { LONGRUN_SEARCH_ATTRIBUTES } from '../../src/shared/search-attributes';
import { spawnWorker, type WorkerProcess } from './worker-process';

/**
 * A real Temporal dev server (the provisioned CLI binary) with longrun's search attributes; in the
 * cluster tier (LONGRUN_TEST_TEMPORAL_ADDRESS, test/support/cluster-setup.ts), that cluster instead.
 */
export async function startDevServerEnv(extraArgs: string[] = []): Promise<TestWorkflowEnvironment> {
  const cluster = process.env.LONGRUN_TEST_TEMPORAL_ADDRESS;
  if (cluster) {
    if (extraArgs.length > 0)
      throw new Error(`this suite needs dev server flags (${extraArgs.join(' ')}): not for the cluster tier`);
    return TestWorkflowEnvironment.createFromExistingServer({ address: cluster });
  }
  const path = process.env.LONGRUN_TEMPORAL_CLI;
  if (!path) throw new Error('LONGRUN_TEMPORAL_CLI is not set: run the tests through jest (global setup)');
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path },
      searchAttributes: [...LONGRUN_SEARCH_ATTRIBUTES],
      extraArgs,
    },
  });
}

/** A hash of what the workflow bundle is made of: workflows, shared code and the installed packages. */
function workflowSourceHash(): string {
  const hash = createHash('sha256')
    .update(readFileSync(join(__dirname, '..', '..', 'package-lock.json')))
    .update(readFileSync(join(__dirname, '..', '..', 'src', 'worker', 'workflow-bundle.ts')));
  for (const folder of ['workflows', 'shared']) {
    const root = join(__dirname, '..', '..', 'src', folder);
    for (const file of readdirSync(root, { recursive: true, encoding: 'utf8' }).sort()) {
      if (file.endsWith('.ts')) hash.update(file).update(readFileSync(join(root, file)));
    }
  }
  return hash.digest('hex').slice(0, 16);
}

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
/**
 * The workflows from `src/`, bundled once for the whole run: each test file reuses the bundle the
 * first one wrote (keyed by a hash of the sources, so a change is always bundled afresh).
 */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= (async () => {
    const dir = join(__dirname, '..', '..', 'node_modules', '.cache', 'longrun');
    const file = join(dir, `workflow-bundle-${workflowSourceHash()}.json`);
    if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as WorkflowBundleWithSourceMap;
    const built = await bundleWorkflowCode(workflowBundleOptions());
    mkdirSync(dir, { recursive: true });
    writeFileSync(`${file}.tmp`, JSON.stringify(built));
    renameSync(`${file}.tmp`, file);
    return built;
  })();
  return bundle;
}

/** An in-process worker on `taskQueue` with the given actions, artifacts and scratch files under `dir`. */
export async function inProcessWorker(opts: {
  connection: NativeConnection;
  taskQueue: string;
  actions: AgentAction[];
  dir: string;
  workerOptions?: Partial<WorkerOptions>;
  /** How often running steps report item progress to their workflow. @default 30000 */
  progressSignalMs?: number;
  /** Signs webhooks. */
  webhookSecret?: string;
  /** Publish the actions' catalog as `longrun worker` does, so clients check specs against it. */
  publishActions?: boolean;
  /** The LLM client and prices behind `ctx.model` (read when a step runs, so it may be filled in later). */
  model?: ActivityDeps['model'];
  /** A live progress board reporter as `longrun worker` runs (started here; stopped with the worker). */
  live?: { heartbeatsPerSecond: number; intervalMs?: number };
}): Promise<{ worker: Worker; artifacts: ArtifactStore; live?: ProgressReporter }> {
  const artifacts = new ArtifactStore(join(opts.dir, 'artifacts'));
  let state = (): string => 'RUNNING';
  const live = opts.live
    ? new ProgressReporter({
        connection: opts.connection,
        namespace: 'default',
        taskQueue: opts.taskQueue,
        identity: 'test-worker',
        ...opts.live,
        active: () => state() !== 'STOPPED' && state() !== 'FAILED',
      })
    : undefined;
  const workflows = { workflowBundle: await workflowBundle() };
  const worker = await Worker.create({
    connection: opts.connection,
    taskQueue: opts.taskQueue,
    ...workflows,
    activities: createActivities({
      actions: actionRegistry(opts.actions),
      artifacts,
      workRoot: join(opts.dir, 'work'),
      ...(opts.progressSignalMs === undefined ? {} : { progressSignalMs: opts.progressSignalMs }),
      ...(opts.webhookSecret === undefined ? {} : { webhookSecret: opts.webhookSecret }),
      ...(opts.model === undefined ? {} : { model: opts.model }),
      ...(live ? { live } : {}),
    }),
    // As the longrun worker does: steps' cursors and pause/cancel requests travel within a second.
    maxHeartbeatThrottleInterval: DEFAULT_MAX_CHECKPOINT_INTERVAL_MS,
    ...opts.workerOptions,
    ...(live
      ? {
          plugins: [
            progressBoardPlugin({
              connection: opts.connection,
              namespace: 'default',
              taskQueue: opts.taskQueue,
              identity: 'test-worker',
              workflows,
            }),
          ],
        }
      : {}),
  });
  if (opts.publishActions) {
    await publishActions(opts.connection, 'default', catalogOf(opts.actions, opts.taskQueue, 'test-worker'));
  }
  state = () => worker.getState();
  live?.start();
  return { worker, artifacts, ...(live ? { live } : {}) };
}

export interface WorkerEnv {
  env: TestWorkflowEnvironment;
  worker: Worker;
  /** A temporary folder for ledgers, artifacts and scratch files, removed afterwards. */
  dir: string;
  /** The typed client on this server and task queue. */
  longrun: LongrunClient;
}

/**
 * Registers beforeAll/afterAll for a test file: a dev server, an in-process worker running on
 * `taskQueue` with `actions`, a temporary folder and a client. Fields are filled in by beforeAll.
 */
export function useWorkerEnv(opts: {
  taskQueue: string;
  actions: AgentAction[];
  serverArgs?: string[];
  progressSignalMs?: number;
  webhookSecret?: string;
  workerOptions?: Partial<WorkerOptions>;
  publishActions?: boolean;
  model?: ActivityDeps['model'];
  live?: { heartbeatsPerSecond: number; intervalMs?: number };
}): WorkerEnv {
  const ctx = {} as WorkerEnv;
  let running: Promise<void> | undefined;
  beforeAll(async () => {
    ctx.env = await startDevServerEnv(opts.serverArgs);
    ctx.dir = mkdtempSync(join(tmpdir(), `longrun-${opts.taskQueue}-`));
    ({ worker: ctx.worker } = await inProcessWorker({
      connection: ctx.env.nativeConnection,
      taskQueue: opts.taskQueue,
      actions: opts.actions,
      dir: ctx.dir,
      ...(opts.progressSignalMs === undefined ? {} : { progressSignalMs: opts.progressSignalMs }),
      ...(opts.workerOptions === undefined ? {} : { workerOptions: opts.workerOptions }),
      ...(opts.webhookSecret === undefined ? {} : { webhookSecret: opts.webhookSecret }),
      ...(opts.publishActions ? { publishActions: true } : {}),
      ...(opts.model === undefined ? {} : { model: opts.model }),
      ...(opts.live === undefined ? {} : { live: opts.live }),
    }));
    running = ctx.worker.run();
    ctx.longrun = new LongrunClient(ctx.env.client, opts.taskQueue);
  });
  afterAll(async () => {
    ctx.worker?.shutdown();
    await running;
    await ctx.env?.teardown();
    if (ctx.dir) rmSync(ctx.dir, { recursive: true, force: true });
  });
  return ctx;
}

export interface ServerAndWorkers {
  env: TestWorkflowEnvironment;
  /** A temporary folder (repos, ledgers, worker data), removed afterwards. */
  dir: string;
  /** Worker processes started with `spawn`, oldest first. */
  workers: WorkerProcess[];
  /** Starts the built worker as an OS process with these environment variables (killed afterwards). */
  spawn(vars: Record<string, string>): WorkerProcess;
}

/**
 * Registers beforeAll/afterAll for a test file whose workers are real processes: a dev server, a
 * temporary folder (`prepare` fills it) and cleanup that SIGKILLs every worker still running.
 */
export function useServerAndWorkers(
  prefix: string,
  prepare?: (dir: string) => void,
  serverArgs: string[] = []
): ServerAndWorkers {
  const ctx = { workers: [] as WorkerProcess[] } as unknown as ServerAndWorkers;
  ctx.spawn = (vars) => {
    const worker = spawnWorker(vars);
    ctx.workers.push(worker);
    return worker;
  };
  beforeAll(async () => {
    ctx.env = await startDevServerEnv(serverArgs);
    ctx.dir = mkdtempSync(join(tmpdir(), `longrun-${prefix}-`));
    prepare?.(ctx.dir);
  });
  afterAll(async () => {
    for (const w of ctx.workers) {
      if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
      await w.exited;
    }
    await ctx.env?.teardown();
    if (ctx.dir) rmSync(ctx.dir, { recursive: true, force: true });
  });
  return ctx;
}

/** Directory of the recorded histories the replay tests use. */
export const HISTORIES = join(__dirname, '..', 'fixtures', 'histories');

/**
 * With LONGRUN_RECORD_HISTORY=1, writes a workflow's history (Temporal CLI JSON; its latest run, or
 * `runId`) to `test/fixtures/histories/<file>` for the replay tests; otherwise does nothing.
 */
export function recordHistory(
  env: TestWorkflowEnvironment,
  workflowId: string,
  file: string,
  runId?: string
): void {
  if (process.env.LONGRUN_RECORD_HISTORY !== '1') return;
  const json = execFileSync(
    process.env.LONGRUN_TEMPORAL_CLI as string,
    [
      ...['workflow', 'show', '--workflow-id', workflowId, ...(runId ? ['--run-id', runId] : [])],
      ...['--address', env.address, '--output', 'json'],
    ],
    { maxBuffer: 256 * 1024 * 1024 }
  );
  writeFileSync(join(HISTORIES, file), json);
}
