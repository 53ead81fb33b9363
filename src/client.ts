/**
 * Typed client for longrun tasks, for other services and the `longrun` CLI.
 *
 * @example
 * ```ts
 * import { LongrunClient, codebaseReviewSpec } from 'longrun';
 *
 * const longrun = await LongrunClient.connect(); // TEMPORAL_ADDRESS, default 127.0.0.1:7233
 * const { taskId } = await longrun.start(codebaseReviewSpec({ taskId: 'review-1', root: 'src' }));
 * console.log(await longrun.progress(taskId)); // percent, phase, step, items
 * const result = await longrun.result(taskId);
 * ```
 */
import {
  Client,
  Connection,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  ServiceError,
} from '@temporalio/client';
import type { QueryDefinition } from '@temporalio/common';
import { decodeArrayFromPayloads } from '@temporalio/common/lib/internal-non-workflow';
import { connectionOptions, loadConfig, type LongrunConfig } from './runtime/config';
import { itemFraction, type ItemProgress, type TaskProgress } from './shared/progress';
import { TaskSpecSchema, type TaskSpec, type TaskSpecInput } from './shared/spec';
import { isStepHeartbeat } from './shared/step-io';
import { parseOrThrow, ValidationError } from './shared/validation';
import { randomUUID } from 'node:crypto';
import { temporal } from '@temporalio/proto';
import Long from 'long';
import { stepsRedoneByRollback, type CheckpointRecord } from './shared/checkpoints';
import {
  checkpointsQuery,
  checkpointUpdate,
  lifecycleQuery,
  longTask,
  planQuery,
  progressQuery,
  type LongTaskResult,
} from './workflows/long-task';
import type { LifecycleView } from './workflows/messages';

/** gRPC status code of a query no worker answered in time. */
const GRPC_DEADLINE_EXCEEDED = 4;

/** Largest spec `start` accepts: it travels in every continue-as-new, under Temporal's 2 MB payload limit. */
export const MAX_SPEC_BYTES = 1024 * 1024;

/** Thrown by client calls that name a task id no task has. */
export class UnknownTaskError extends Error {
  override readonly name = 'UnknownTaskError';
  constructor(readonly taskId: string) {
    super(`unknown task "${taskId}": no task with this id exists in the namespace`);
  }
}

/** Thrown by `rollback` when the task has no checkpoint with the given id. */
export class UnknownCheckpointError extends Error {
  override readonly name = 'UnknownCheckpointError';
  constructor(
    readonly taskId: string,
    readonly checkpointId: string,
    readonly available: string[]
  ) {
    super(
      `task "${taskId}" has no checkpoint "${checkpointId}"; it has: ${available.length ? available.join(', ') : 'none'}`
    );
  }
}

/** Thrown when a task refuses a request (an update's validator or handler rejected it); says why. */
export class TaskRequestRejectedError extends Error {
  override readonly name = 'TaskRequestRejectedError';
  constructor(
    readonly taskId: string,
    readonly request: string,
    readonly reason: string
  ) {
    super(`task "${taskId}" rejected ${request}: ${reason}`);
  }
}

export interface RollbackResult {
  taskId: string;
  checkpoint: CheckpointRecord;
  /** The run the task continues in after the reset. */
  runId: string;
  /** Completed steps that will run again, in order. */
  stepsToRedo: string[];
}

export interface StartOptions {
  /**
   * Keep longrun's search attributes (state, progress, ...) up to date. Turn off only on a server that
   * cannot register custom search attributes, such as Temporal's time-skipping test server. @default true
   */
  searchAttributes?: boolean;
}

export interface StartedTask {
  taskId: string;
  runId: string;
  /** False when a task with this id already existed and its handle was returned instead. */
  started: boolean;
}

/** Temporal's execution status next to longrun's own progress. */
export interface TaskStatus {
  taskId: string;
  runId: string;
  /** RUNNING, COMPLETED, FAILED, CANCELLED, TERMINATED, CONTINUED_AS_NEW or TIMED_OUT. */
  execution: string;
  progress: TaskProgress | null;
}

export interface ConnectOptions {
  /** Settings; default: `loadConfig()` from the environment. */
  config?: LongrunConfig;
  /** Frontend address; default `config.address`, else the embedded dev server's 127.0.0.1:<LONGRUN_DEV_PORT>. */
  address?: string;
  /** How long to wait for the server, in ms. @default 5000 */
  connectTimeoutMs?: number;
}

export class LongrunClient {
  constructor(
    readonly client: Client,
    readonly taskQueue: string,
    private readonly ownedConnection?: Connection
  ) {}

  static async connect(opts: ConnectOptions = {}): Promise<LongrunClient> {
    const config = opts.config ?? loadConfig();
    const address = opts.address ?? config.address ?? `127.0.0.1:${config.devPort}`;
    let connection: Connection;
    try {
      connection = await Connection.connect({
        ...connectionOptions(config, address),
        connectTimeout: opts.connectTimeoutMs ?? 5_000,
      });
    } catch (err) {
      throw new Error(
        `cannot reach Temporal at ${address} (${err instanceof Error ? err.message : String(err)}). ` +
          'Is `longrun dev` running, or is TEMPORAL_ADDRESS set to your cluster?'
      );
    }
    const client = new Client({ connection, namespace: config.namespace });
    return new LongrunClient(client, config.taskQueue, connection);
  }

  /**
   * Starts a task from its spec, idempotent on the task id: if a task with this id exists (running or
   * closed) its handle is returned and nothing new starts. A bad spec throws `ValidationError` naming
   * each field and rule, and nothing starts.
   */
  async start(
    specInput: TaskSpecInput | Record<string, unknown>,
    options: StartOptions = {}
  ): Promise<StartedTask> {
    const spec: TaskSpec = parseOrThrow(TaskSpecSchema, specInput, 'task spec', 'spec');
    const bytes = Buffer.byteLength(JSON.stringify(specInput));
    if (bytes > MAX_SPEC_BYTES) {
      throw new ValidationError('task spec', [
        {
          path: 'spec',
          rule: `must serialize to at most ${MAX_SPEC_BYTES} bytes (is ${bytes}): Temporal limits a payload to 2 MB; store big inputs as artifacts or iterate items inside one step`,
        },
      ]);
    }
    const existing = await this.describeOrUndefined(spec.taskId);
    if (existing) return { taskId: spec.taskId, runId: existing.runId, started: false };
    try {
      const handle = await this.client.workflow.start(longTask, {
        taskQueue: this.taskQueue,
        workflowId: spec.taskId,
        // The spec as given (validated above): defaults are filled in by the workflow, keeping the payload small.
        args: [
          {
            spec: specInput as TaskSpecInput,
            ...(options.searchAttributes === false ? { searchAttributes: false } : {}),
          },
        ],
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        staticSummary: `${spec.title ?? spec.taskId} (${spec.agent}, ${spec.durability})`,
        staticDetails: `longrun task \`${spec.taskId}\`: ${spec.phases.length} phases, ${spec.phases.reduce((n, p) => n + p.steps.length, 0)} steps`,
      });
      return { taskId: spec.taskId, runId: handle.firstExecutionRunId, started: true };
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) {
        const again = await this.describeOrUndefined(spec.taskId);
        if (again) return { taskId: spec.taskId, runId: again.runId, started: false };
      }
      throw err;
    }
  }

  /**
   * Progress of a task: the workflow's `progress` query merged with the item progress of the running
   * step's latest heartbeat (percent then includes the part of the current step already done).
   */
  async progress(taskId: string): Promise<TaskProgress> {
    const handle = this.client.workflow.getHandle(taskId);
    const [progress, description] = await this.wrap(taskId, () =>
      Promise.all([this.query(taskId, progressQuery), handle.describe()])
    );
    const pending = description.raw.pendingActivities?.[0];
    if (progress.state === 'executing' && pending?.heartbeatDetails?.payloads?.length) {
      const [details] = await decodeArrayFromPayloads(
        this.client.options.loadedDataConverter,
        pending.heartbeatDetails.payloads
      );
      if (isStepHeartbeat(details)) {
        const items: ItemProgress = {
          done: details.done,
          total: details.total,
          ...(details.note ? { note: details.note } : {}),
        };
        return { ...progress, items, percent: progress.percent + progress.stepShare * itemFraction(items) };
      }
    }
    return progress;
  }

  /** Temporal's view of the task (execution status) plus its progress when a worker can answer. */
  async status(taskId: string): Promise<TaskStatus> {
    const description = await this.wrap(taskId, () => this.client.workflow.getHandle(taskId).describe());
    const progress = await this.progress(taskId).catch(() => null);
    return { taskId, runId: description.runId, execution: description.status.name, progress };
  }

  /** Named checkpoints of the task, oldest first. */
  async checkpoints(taskId: string): Promise<CheckpointRecord[]> {
    return this.wrap(taskId, () => this.query(taskId, checkpointsQuery));
  }

  /** Lifecycle state, transition log, total and active durations, progress history. */
  async lifecycle(taskId: string): Promise<LifecycleView> {
    return this.wrap(taskId, () => this.query(taskId, lifecycleQuery));
  }

  /** Records a `manual` checkpoint now and returns it (rejected for a finished or failed task). */
  async checkpoint(taskId: string, label: string): Promise<CheckpointRecord> {
    return this.request(taskId, 'checkpoint', () =>
      this.client.workflow.getHandle(taskId).executeUpdate(checkpointUpdate, { args: [{ label }] })
    );
  }

  /**
   * Runs an update, turning its rejection into `TaskRequestRejectedError` (with the validator's reason),
   * an update sent to a closed task into the same error naming its status, and an unknown id into
   * `UnknownTaskError`.
   */
  private async request<T>(taskId: string, request: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) {
        throw new TaskRequestRejectedError(taskId, request, err.cause?.message ?? err.message);
      }
      if (err instanceof WorkflowNotFoundError) {
        const description = await this.describeOrUndefined(taskId);
        if (!description) throw new UnknownTaskError(taskId);
        const status = description.status.name.toLowerCase();
        throw new TaskRequestRejectedError(taskId, request, `the task is ${status}`);
      }
      throw err;
    }
  }

  /**
   * Rolls a task back to a named checkpoint: a Temporal reset of the run that recorded it (also a run
   * before a continue-as-new) to the checkpoint's workflow task. Signals and updates sent after that
   * point are not reapplied. Steps completed after the checkpoint run again; returns which.
   */
  async rollback(taskId: string, checkpointId: string): Promise<RollbackResult> {
    const [records, plan, progress] = await this.wrap(taskId, () =>
      Promise.all([
        this.query(taskId, checkpointsQuery),
        this.query(taskId, planQuery),
        this.query(taskId, progressQuery),
      ])
    );
    const checkpoint = records.find((r) => r.id === checkpointId);
    if (!checkpoint)
      throw new UnknownCheckpointError(
        taskId,
        checkpointId,
        records.map((r) => r.id)
      );
    const { ResetReapplyExcludeType } = temporal.api.enums.v1;
    const response: temporal.api.workflowservice.v1.IResetWorkflowExecutionResponse =
      await this.client.workflowService.resetWorkflowExecution({
        namespace: this.client.options.namespace,
        workflowExecution: { workflowId: taskId, runId: checkpoint.runId },
        workflowTaskFinishEventId: Long.fromNumber(checkpoint.resetEventId),
        reason: `longrun rollback to checkpoint ${checkpoint.id} (${checkpoint.label})`,
        requestId: randomUUID(),
        resetReapplyExcludeTypes: [
          ResetReapplyExcludeType.RESET_REAPPLY_EXCLUDE_TYPE_SIGNAL,
          ResetReapplyExcludeType.RESET_REAPPLY_EXCLUDE_TYPE_UPDATE,
        ],
      });
    return {
      taskId,
      checkpoint,
      runId: response.runId ?? '',
      stepsToRedo: stepsRedoneByRollback(
        checkpoint,
        plan.map((s) => s.id),
        progress.stepsCompleted
      ),
    };
  }

  /** Waits for the task to finish and returns its result; a failed task throws `WorkflowFailedError`. */
  async result(taskId: string): Promise<LongTaskResult> {
    return this.wrap(
      taskId,
      () => this.client.workflow.getHandle(taskId).result() as Promise<LongTaskResult>
    );
  }

  async close(): Promise<void> {
    await this.ownedConnection?.close();
  }

  private async describeOrUndefined(taskId: string) {
    try {
      return await this.client.workflow.getHandle(taskId).describe();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw err;
    }
  }

  /**
   * A query, asked a second time if no worker picked the first one up in time: seen now and then for
   * a task that had just finished (the server answers DEADLINE_EXCEEDED), while the next try succeeds.
   */
  private async query<T>(taskId: string, definition: QueryDefinition<T>): Promise<T> {
    const handle = this.client.workflow.getHandle(taskId);
    try {
      return await handle.query(definition);
    } catch (err) {
      const code = ((err as { cause?: { code?: number } }).cause ?? {}).code;
      if (err instanceof ServiceError && code === GRPC_DEADLINE_EXCEEDED) return handle.query(definition);
      throw err;
    }
  }

  private async wrap<T>(taskId: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw new UnknownTaskError(taskId);
      throw err;
    }
  }
}
