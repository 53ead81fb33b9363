import { TestWorkflowEnvironment } from '@temporalio/testing';
import { join } from 'node:path';
import {
  bundleWorkflowCode,
  Worker,
  type NativeConnection,
  type WorkerOptions,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import { actionRegistry, createActivities, type AgentAction } from '../../src/activities';
import { ArtifactStore } from '../../src/runtime/artifact-store';
import { DEFAULT_MAX_CHECKPOINT_INTERVAL_MS } from '../../src/shared/durability';
import { LONGRUN_SEARCH_ATTRIBUTES } from '../../src/shared/search-attributes';

/** A real Temporal dev server (the provisioned CLI binary) with longrun's search attributes. */
export async function startDevServerEnv(extraArgs: string[] = []): Promise<TestWorkflowEnvironment> {
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

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
/** The workflows bundled once per test file. */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({ workflowsPath: require.resolve('../../src/workflows') });
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
}): Promise<{ worker: Worker; artifacts: ArtifactStore }> {
  const artifacts = new ArtifactStore(join(opts.dir, 'artifacts'));
  const worker = await Worker.create({
    connection: opts.connection,
    taskQueue: opts.taskQueue,
    workflowBundle: await workflowBundle(),
    activities: createActivities({
      actions: actionRegistry(opts.actions),
      artifacts,
      workRoot: join(opts.dir, 'work'),
      ...(opts.progressSignalMs === undefined ? {} : { progressSignalMs: opts.progressSignalMs }),
    }),
    // As the longrun worker does: steps' cursors and pause/cancel requests travel within a second.
    maxHeartbeatThrottleInterval: DEFAULT_MAX_CHECKPOINT_INTERVAL_MS,
    ...opts.workerOptions,
  });
  return { worker, artifacts };
}
