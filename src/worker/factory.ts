import { join } from 'node:path';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { actionRegistry, createActivities, type AgentAction } from '../activities';
import { codebaseReviewActions } from '../activities/agents/codebase-review';
import { datasetActions } from '../activities/agents/dataset';
import { LlmClient, llmActions } from '../activities/llm';
import { ProgressReporter } from './progress-reporter';
import { progressBoardPlugin } from './board-worker';
import { workerWorkflowCode } from './workflow-bundle';
import { catalogOf, publishActions, workerIdentity } from './action-publisher';
import { loadActionModules } from './action-modules';
import { ArtifactStore } from '../runtime/artifact-store';
import { registerSecrets, secretsOf } from '../runtime/secrets';
import { configureBreakers } from '../activities/circuit-breakers';
import { connectionOptions, type LongrunConfig } from '../runtime/config';
import { ensureSearchAttributes } from '../runtime/namespace';
import { describeHardware } from '../runtime/hardware';
import { workerResources, type WorkerResources, type WorkerResourcesOptions } from './resources';

/** Every agent action this package ships. */
export const builtinActions: AgentAction[] = [...codebaseReviewActions, ...datasetActions];

export interface LongrunWorkerOptions {
  config: LongrunConfig;
  /** Frontend address; defaults to `config.address`. */
  address?: string;
  /** An existing connection to reuse (its owner closes it). */
  connection?: NativeConnection;
  /**
   * Agent actions to register. @default builtinActions, plus `llm.summarize` when LONGRUN_LLM_BASE_URL
   * is set, plus those of `config.actionModules`
   */
  actions?: AgentAction[];
  /**
   * Extra worker options (identity, tuning, ...). With a `tuner` or `maxConcurrentActivityTaskExecutions`
   * of its own the worker's polls no longer follow its resource mode; its steps still do (they wait
   * for the mode's share of `maxConcurrentActivityTaskExecutions`, else of LONGRUN_MAX_CONCURRENT_STEPS).
   */
  workerOptions?: Partial<WorkerOptions>;
  /** Replaces the resource monitor's sampler or clock (tests); `false`: no monitor at all. */
  monitor?: WorkerResourcesOptions['monitor'] | false;
}

/** A created worker: run it with `worker.run()`; close the connection after it if `ownsConnection`. */
export interface LongrunWorker {
  worker: Worker;
  connection: NativeConnection;
  ownsConnection: boolean;
  /** Every action the worker runs (built-in, LLM, and those of the action modules). */
  actions: AgentAction[];
  /** Its resource monitor, mode and slots; undefined when LONGRUN_MONITOR_INTERVAL_MS=0. Sampling already. */
  resources: WorkerResources | undefined;
  /** The worker's identity (as the Web UI shows it). */
  identity: string;
  /** Its live progress reporter (running already); undefined when LONGRUN_LIVE_PROGRESS_MS=0. */
  live: ProgressReporter | undefined;
}

const GRPC_NOT_FOUND = 5;

/** A worker that cannot start says which variable to fix, with its value, in one line. */
export class WorkerStartError extends Error {
  override readonly name = 'WorkerStartError';
}

async function connectWorker(config: LongrunConfig, address: string): Promise<NativeConnection> {
  const where =
    config.address === undefined
      ? `the dev server at ${address}`
      : `TEMPORAL_ADDRESS=${JSON.stringify(address)}`;
  try {
    return await NativeConnection.connect(connectionOptions(config, address));
  } catch (err) {
    const raw = err instanceof Error ? err.message : String(err);
    // The native error is a Rust debug dump: keep its innermost message.
    const why = /(?:message|error): "([^"]{1,300})"/.exec(raw)?.[1] ?? raw.split('\n')[0];
    const hint = /dns|lookup/i.test(raw)
      ? 'the host does not resolve (it must be host:port, e.g. 127.0.0.1:7233)'
      : /InvalidUri|invalid (uri|url)|parse/i.test(raw)
        ? 'it must be host:port, e.g. 127.0.0.1:7233'
        : /InvalidContentType|tls|certificate|handshake/i.test(raw)
          ? 'TLS does not match the server (TEMPORAL_TLS, TEMPORAL_TLS_CERT, an API key turns TLS on)'
          : 'is the server running and reachable?';
    throw new WorkerStartError(`cannot connect to Temporal at ${where}: ${hint} (${why})`);
  }
}

/** A worker on a namespace that does not exist would poll for ever and log warnings: stop at once. */
async function checkNamespace(
  connection: NativeConnection,
  namespace: string,
  address: string
): Promise<void> {
  try {
    await connection.workflowService.describeNamespace({ namespace });
  } catch (err) {
    if ((err as { code?: number }).code === GRPC_NOT_FOUND) {
      throw new WorkerStartError(
        `TEMPORAL_NAMESPACE=${JSON.stringify(namespace)}: no such namespace on ${address} ` +
          `(create it with: temporal operator namespace create --namespace ${namespace})`
      );
    }
    throw err;
  }
}

/**
 * A worker for longrun tasks: the `longTask` workflow and the `runStep` activity with the given actions.
 * Uses the prebuilt workflow bundle when present (fast start), else bundles `src/workflows`.
 */
export async function createLongrunWorker(opts: LongrunWorkerOptions): Promise<LongrunWorker> {
  const { config } = opts;
  registerSecrets(secretsOf(config));
  const address = opts.address ?? config.address;
  if (!opts.connection && !address) throw new Error('createLongrunWorker needs an address or a connection');
  const connection = opts.connection ?? (await connectWorker(config, address as string));
  await checkNamespace(connection, config.namespace, address ?? 'the given connection');
  // The process-wide circuits (shared by every task this worker runs) take the configured settings.
  configureBreakers(config.breaker);
  const llm = config.llm ? new LlmClient(config.llm) : undefined;
  const actions = opts.actions ?? [
    ...builtinActions,
    ...(config.llm ? llmActions(config.llm, llm) : []),
    ...(await loadActionModules(config.actionModules)),
  ];
  const identity = String(opts.workerOptions?.identity ?? workerIdentity());
  const ownMax = opts.workerOptions?.maxConcurrentActivityTaskExecutions;
  const resources =
    opts.monitor === false
      ? undefined
      : workerResources({
          config,
          identity,
          monitor: { ...(ownMax === undefined ? {} : { maxSlots: ownMax }), ...opts.monitor },
        });
  const ownSlots =
    opts.workerOptions?.tuner !== undefined ||
    opts.workerOptions?.maxConcurrentActivityTaskExecutions !== undefined;
  let state = (): string => 'RUNNING';
  const live =
    config.liveProgressMs > 0
      ? new ProgressReporter({
          connection,
          namespace: config.namespace,
          taskQueue: config.taskQueue,
          identity,
          heartbeatsPerSecond: config.heartbeatsPerSecond,
          intervalMs: config.liveProgressMs,
          active: () => state() === 'RUNNING' || state() === 'INITIALIZED' || state() === 'STOPPING',
        })
      : undefined;
  const activities = createActivities({
    actions: actionRegistry(actions),
    artifacts: new ArtifactStore(config.artifactDir, {
      backupRoot: config.artifactBackupDir,
      onRestore: (ref, reason) =>
        console.warn(`longrun: artifact ${ref.name} (${ref.sha256}) was restored from its backup: ${reason}`),
    }),
    workRoot: join(config.dataDir, 'work'),
    progressSignalMs: config.progressReportMs,
    heartbeatEveryMs: config.maxCheckpointIntervalMs,
    ...(live ? { live } : {}),
    webhookSecret: config.webhookSecret,
    ...(llm ? { model: { client: llm, prices: config.llm?.prices ?? {} } } : {}),
    ...(resources ? { resources: resources.gate } : {}),
    resourceRetryMs: config.resources.resourceRetryMs,
  });
  const workflows = workerWorkflowCode();
  try {
    await ensureSearchAttributes(connection, config.namespace);
  } catch (err) {
    // A managed cluster may not let workers change the namespace; tasks then fail to upsert until an
    // operator registers the attributes (docs/operating.md).
    console.warn(
      `longrun: could not register search attributes: ${err instanceof Error ? err.message : String(err)}`
    );
  }
  void describeHardware().catch(() => undefined); // measure now, not when the first task plans
  const worker = await Worker.create({
    connection,
    namespace: config.namespace,
    taskQueue: config.taskQueue,
    activities,
    ...workflows,
    // On shutdown, running steps are cancelled at once: they stop at their next item, hand their cursor to
    // the server and are retried on another worker (waiting for steps of hours to finish is pointless).
    // `longrun worker` caps the wait at LONGRUN_SHUTDOWN_GRACE_MS (src/worker.ts).
    shutdownGraceTime: 0,
    maxCachedWorkflows: 500,
    maxHeartbeatThrottleInterval: config.maxCheckpointIntervalMs,
    // A workflow task queued for a worker that died waits this long before any worker may take it (SDK
    // default 10 s, measured in full by bench/recovery.mjs --kill-at 0.995); a live worker polls at once.
    stickyQueueScheduleToStartTimeout: '3 seconds',
    ...(resources && !ownSlots ? { tuner: resources.tuner } : {}),
    ...opts.workerOptions,
    plugins: [
      ...(opts.workerOptions?.plugins ?? []),
      ...(live
        ? [
            progressBoardPlugin({
              connection,
              namespace: config.namespace,
              taskQueue: config.taskQueue,
              identity,
              workflows,
            }),
          ]
        : []),
    ],
  });
  resources?.start();
  state = () => worker.getState();
  live?.start();
  const catalog = catalogOf(actions, config.taskQueue, identity);
  try {
    await publishActions(connection, config.namespace, catalog);
  } catch (err) {
    // Clients then check specs against an older catalog, or only statically: tasks still run.
    console.warn(
      `longrun: could not publish this worker's actions: ${err instanceof Error ? err.message : String(err)}`
    );
  }
  return { worker, connection, ownsConnection: !opts.connection, actions, resources, identity, live };
}
