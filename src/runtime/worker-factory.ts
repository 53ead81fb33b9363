import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { actionRegistry, createActivities, type AgentAction } from '../activities';
import { codebaseReviewActions } from '../activities/agents/codebase-review';
import { datasetActions } from '../activities/agents/dataset';
import { llmActions } from '../activities/llm';
import { ArtifactStore } from './artifact-store';
import { configureBreakers } from './circuit-breakers';
import { connectionOptions, type LongrunConfig } from './config';
import { ensureSearchAttributes } from './dev-server';
import { describeHardware } from './hardware';

/** Every agent action this package ships. */
export const builtinActions: AgentAction[] = [...codebaseReviewActions, ...datasetActions];

/** The prebuilt workflow bundle written by `npm run build` (dist only). */
const PREBUILT_BUNDLE = join(__dirname, '..', 'workflow-bundle.js');

export interface LongrunWorkerOptions {
  config: LongrunConfig;
  /** Frontend address; defaults to `config.address`. */
  address?: string;
  /** An existing connection to reuse (its owner closes it). */
  connection?: NativeConnection;
  /** Agent actions to register. @default builtinActions, plus `llm.summarize` when LONGRUN_LLM_BASE_URL is set */
  actions?: AgentAction[];
  /** Extra worker options (identity, tuning, ...). */
  workerOptions?: Partial<WorkerOptions>;
}

/**
 * A worker for longrun tasks: the `longTask` workflow and the `runStep` activity with the given actions.
 * Uses the prebuilt workflow bundle when present (fast start), else bundles `src/workflows`.
 */
export async function createLongrunWorker(
  opts: LongrunWorkerOptions
): Promise<{ worker: Worker; connection: NativeConnection; ownsConnection: boolean }> {
  const { config } = opts;
  const address = opts.address ?? config.address;
  if (!opts.connection && !address) throw new Error('createLongrunWorker needs an address or a connection');
  const connection =
    opts.connection ?? (await NativeConnection.connect(connectionOptions(config, address as string)));
  // The process-wide circuits (shared by every task this worker runs) take the configured settings.
  configureBreakers(config.breaker);
  const actions = opts.actions ?? [...builtinActions, ...(config.llm ? llmActions(config.llm) : [])];
  const activities = createActivities({
    actions: actionRegistry(actions),
    artifacts: new ArtifactStore(config.artifactDir, {
      backupRoot: config.artifactBackupDir,
      onRestore: (ref, reason) =>
        console.warn(`longrun: artifact ${ref.name} (${ref.sha256}) was restored from its backup: ${reason}`),
    }),
    workRoot: join(config.dataDir, 'work'),
    progressSignalMs: config.progressReportMs,
    webhookSecret: config.webhookSecret,
  });
  const workflows = existsSync(PREBUILT_BUNDLE)
    ? { workflowBundle: { codePath: PREBUILT_BUNDLE } }
    : { workflowsPath: require.resolve('../workflows') };
  try {
    await ensureSearchAttributes(connection, config.namespace);
  } catch (err) {
    // A managed cluster may not let workers change the namespace; tasks then fail to upsert until an
    // operator registers the attributes (README, "Operating").
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
    ...opts.workerOptions,
  });
  return { worker, connection, ownsConnection: !opts.connection };
}
