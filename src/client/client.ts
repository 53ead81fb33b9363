/**
 * The typed client of longrun tasks, for other services and the `longrun` CLI: start, steer, read.
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
  WorkflowFailedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  ServiceError,
} from '@temporalio/client';
import { CancelledFailure, type QueryDefinition, type UpdateDefinition } from '@temporalio/common';
import { approvalAnswerSchema, type ApprovalAnswer, type ApprovalDecision } from '../shared/approvals';
import { connectionOptions, loadClientConfig } from '../runtime/config';
import { catalogIssues, type ActionCatalog } from '../shared/action-catalog';
import type { ActivityEntry } from '../shared/activity-log';
import { stepsRedoneByRollback, type CheckpointRecord } from '../shared/checkpoints';
import {
  CONTROL_SCHEMAS,
  type CancelRequest,
  type ControlKind,
  type ExtendRequest,
  type PauseRequest,
  type ResumeRequest,
} from '../shared/control';
import type { FailureRecord } from '../shared/failures';
import { hasEnded } from '../shared/lifecycle';
import type { TaskProgress } from '../shared/progress';
import { LongrunState } from '../shared/search-attributes';
import type { TaskSpec, TaskSpecInput } from '../shared/spec';
import { checkSpec } from '../shared/spec-check';
import { CANCELLED_RESULT_MEMO, type LongTaskResult } from '../shared/task-result';
import { parseOrThrow, ValidationError } from '../shared/validation';
// Message definitions only; the workflow itself is started by name and never loaded here.
import {
  cancelUpdate,
  checkpointsQuery,
  checkpointUpdate,
  extendUpdate,
  approveUpdate,
  rejectUpdate,
  failuresQuery,
  lifecycleQuery,
  logsQuery,
  pauseUpdate,
  planQuery,
  progressQuery,
  resultQuery,
  resumeUpdate,
  type LifecycleView,
  type PartialResult,
} from '../workflows/messages';
import type { longTask } from '../workflows/long-task';
import { InvalidTransitionError, UnknownCheckpointError, UnknownTaskError } from './errors';
import { CatalogReader } from './catalog';
import { TaskHandle } from './handle';
import {
  heartbeatsOf,
  liveBeats,
  needsHeartbeats,
  retriesOf,
  retryWarning,
  watchProgress,
  withHeartbeats,
} from './progress';
import { newestBeats } from '../shared/progress-board';
import { continueAfterLimit, doneSteps, resetToCheckpoint, retryTask } from './recovery';
import type {
  CheckedAgainst,
  ConnectOptions,
  FailedFilter,
  FailedTask,
  ListFilter,
  RetryResult,
  RollbackResult,
  StartedTask,
  StartOptions,
  TaskResult,
  TaskStatus,
  TaskSummary,
  WatchOptions,
} from './types';
import { listFailedTasks, listTasks } from './visibility';

/** gRPC status code of a query no worker answered in time. */
const GRPC_DEADLINE_EXCEEDED = 4;

export class LongrunClient {
  private readonly catalogs: CatalogReader;

  constructor(
    readonly client: Client,
    readonly taskQueue: string,
    private readonly ownedConnection?: Connection,
    /** Webhook URLs added to every task this client starts (`LONGRUN_WEBHOOK_URLS` with `connect`). */
    private readonly webhookUrls: readonly string[] = []
  ) {
    this.catalogs = new CatalogReader(client, taskQueue);
  }

  static async connect(opts: ConnectOptions = {}): Promise<LongrunClient> {
    const config = opts.config ?? loadClientConfig();
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
    return new LongrunClient(client, config.taskQueue, connection, config.webhookUrls);
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
    if (this.webhookUrls.length > 0 && typeof specInput === 'object' && specInput !== null) {
      const own = Array.isArray(specInput.webhooks) ? (specInput.webhooks as { url?: unknown }[]) : [];
      const extra = this.webhookUrls.filter((url) => !own.some((w) => w.url === url)).map((url) => ({ url }));
      specInput = { ...specInput, webhooks: [...own, ...extra] };
    }
    const spec = checkSpec(specInput);
    const checkedAgainst = options.checkActions === false ? null : await this.checkActions(spec);
    // One RPC: the server refuses an id already used (running or closed), and only then we describe.
    try {
      const handle = await this.client.workflow.start<typeof longTask>('longTask', {
        taskQueue: this.taskQueue,
        workflowId: spec.taskId,
        // The spec as given (validated above): defaults are filled in by the workflow, keeping the payload small.
        args: [
          {
            spec: specInput as TaskSpecInput,
            ...(options.searchAttributes === false ? { searchAttributes: false } : {}),
          },
        ],
        // A task with this id (running, or closed: REJECT_DUPLICATE) fails the start: `started: false`.
        workflowIdConflictPolicy: 'FAIL',
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        staticSummary: `${spec.title ?? spec.taskId} (${spec.agent}, ${spec.durability})`,
        staticDetails: `longrun task \`${spec.taskId}\`: ${spec.phases.length} phases, ${spec.phases.reduce((n, p) => n + p.steps.length, 0)} steps`,
      });
      return this.started(spec.taskId, handle.firstExecutionRunId, true, checkedAgainst);
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) {
        const again = await this.describeOrUndefined(spec.taskId);
        if (again) return this.started(spec.taskId, again.runId, false, checkedAgainst);
      }
      throw err;
    }
  }

  private started(
    taskId: string,
    runId: string,
    started: boolean,
    checkedAgainst: CheckedAgainst | null
  ): StartedTask {
    const handle = new TaskHandle(this, taskId, runId);
    // Not enumerable: `JSON.stringify(started)` is the documented shape, without the client inside.
    const task = { taskId, runId, started, checkedAgainst } as StartedTask;
    Object.defineProperty(task, 'handle', { value: handle, enumerable: false });
    return task;
  }

  /**
   * The catalogs the task queue's workers published (newest first; empty if no worker has started
   * since the server's data began). Read from the catalog workflow's first event: no worker needed.
   */
  actions(): Promise<ActionCatalog[]> {
    return this.catalogs.read();
  }

  /** Refuses a spec the newest worker catalog would refuse; says which version it checked against. */
  private async checkActions(spec: TaskSpec): Promise<CheckedAgainst | null> {
    const [catalog] = await this.actions();
    if (!catalog) return null;
    const issues = catalogIssues(spec, catalog);
    if (issues.length > 0) throw new ValidationError('task spec', issues);
    return { workerVersion: catalog.workerVersion, publishedAt: catalog.publishedAt };
  }

  /** A handle on an existing task (throws `UnknownTaskError` if there is none). */
  async get(taskId: string): Promise<TaskHandle> {
    const description = await this.describeOrUndefined(taskId);
    if (!description) throw new UnknownTaskError(taskId);
    return new TaskHandle(this, taskId, description.runId);
  }

  /**
   * Progress of a task: the workflow's `progress` query merged with the heartbeats of its running
   * steps (about a second old at most), so percent includes the part of each running step already
   * done, and elapsed time, active time, velocity and ETA are as of now (the workflow answers with the
   * time of its last workflow task).
   */
  async progress(taskId: string): Promise<TaskProgress> {
    const [progress, live] = await this.wrap(taskId, () =>
      Promise.all([this.query(taskId, progressQuery), liveBeats(this.client, this.taskQueue, taskId)])
    );
    if (hasEnded(progress.state)) return progress;
    // The board covers every running step unless its worker runs without one (or on another queue):
    // then the heartbeats on the server are the freshest counts.
    if (!needsHeartbeats(progress, live)) return withHeartbeats(progress, live, Date.now());
    const description = await this.wrap(taskId, () => this.client.workflow.getHandle(taskId).describe());
    const beats = newestBeats(live, await heartbeatsOf(this.client, description));
    return withHeartbeats(progress, beats, Date.now());
  }

  /** Pauses a task; resolves once its running step has stopped and saved its cursor. */
  async pause(taskId: string, request: PauseRequest = {}): Promise<TaskProgress> {
    return this.control(taskId, 'pause', pauseUpdate, request);
  }

  /** Resumes a paused task from where its step stopped. */
  async resume(taskId: string, request: ResumeRequest = {}): Promise<TaskProgress> {
    return this.control(taskId, 'resume', resumeUpdate, request);
  }

  /**
   * Cancels a task gracefully: every running step stops at its next item, a final checkpoint keeps
   * their cursors, the state becomes cancelled and the workflow completes with the partial results
   * (`result(taskId)`: state `cancelled`). Resolves once the task has stopped.
   */
  async cancel(taskId: string, request: CancelRequest = {}): Promise<TaskProgress> {
    return this.control(taskId, 'cancel', cancelUpdate, request);
  }

  /**
   * Continues a task that stopped at a limit (`state: "partial"`, `onLimit: "stop"`) from where it
   * stopped: its limits move by `by` ("2h", ms) and it runs on in a new execution with the same id,
   * redoing nothing it had done.
   */
  async continueTask(
    taskId: string,
    request: { by: string | number; reason?: string }
  ): Promise<StartedTask> {
    const runId = await continueAfterLimit(this.client, this.taskQueue, taskId, request);
    return this.started(taskId, runId, true, null);
  }

  /** Moves a task's deadline: `{ by: '2h' }` or `{ until: '2026-12-01T00:00:00Z' }`. */
  async extend(taskId: string, request: ExtendRequest): Promise<TaskProgress> {
    return this.control(taskId, 'extend', extendUpdate, request);
  }

  /**
   * Approves the task's pending approval (`id` names one when several are pending; `by` and `note`
   * go to the task's log). Returns the decision recorded; refused when nothing matches.
   */
  async approve(taskId: string, answer: ApprovalAnswer = {}): Promise<ApprovalDecision> {
    return this.answer(taskId, 'approve', approveUpdate, answer);
  }

  /** Rejects the task's pending approval; as `approve`. */
  async reject(taskId: string, answer: ApprovalAnswer = {}): Promise<ApprovalDecision> {
    return this.answer(taskId, 'reject', rejectUpdate, answer);
  }

  private async answer(
    taskId: string,
    kind: 'approve' | 'reject',
    update: UpdateDefinition<ApprovalDecision, [ApprovalAnswer]>,
    answer: ApprovalAnswer
  ): Promise<ApprovalDecision> {
    const payload = parseOrThrow(approvalAnswerSchema(), answer, `${kind} request`);
    return this.request(taskId, kind, () =>
      this.client.workflow.getHandle(taskId).executeUpdate(update, { args: [payload] })
    );
  }

  /** The task's failure records (step, kind, message, attempt, decision), oldest first; [] if none. */
  async failures(taskId: string): Promise<FailureRecord[]> {
    return (await this.wrap(taskId, () => this.query(taskId, failuresQuery))) ?? [];
  }

  /** The task's activity log, oldest first (the latest 100 entries). */
  async logs(taskId: string): Promise<ActivityEntry[]> {
    return this.wrap(taskId, () => this.query(taskId, logsQuery));
  }

  /**
   * longrun tasks in the namespace, newest first, from the server's visibility store (search
   * attributes), filtered by lifecycle state and agent. Continued-as-new runs are left out: one row per task.
   */
  list(filter: ListFilter = {}): Promise<TaskSummary[]> {
    return listTasks(this.client, filter);
  }

  /**
   * Dead letters: tasks whose latest run failed, newest first, with the last failure and the recovery
   * checkpoint (from the task's memo: no worker needed). Retry them with `retry`.
   */
  listFailed(filter: FailedFilter = {}): Promise<FailedTask[]> {
    return listFailedTasks(this.client, filter, (taskId) => this.describeOrUndefined(taskId));
  }

  /**
   * Runs a failed task again: from its recovery checkpoint (the failed step is scheduled anew, the
   * steps before it are not redone), from another named checkpoint, or from the start (`from:
   * 'start'`). A Temporal reset: the task keeps its id and history, and continues in a new run.
   */
  async retry(taskId: string, options: { from?: string } = {}): Promise<RetryResult> {
    const latest = await this.describeOrUndefined(taskId);
    return retryTask(this.client, taskId, latest, options.from ?? 'recovery', (id) =>
      this.rollback(taskId, id)
    );
  }

  /**
   * Progress updates of a task as they happen: yields the current progress, then each change (asked
   * every `intervalMs`), and ends after yielding the final progress once the task has ended.
   */
  watch(taskId: string, options: WatchOptions = {}): AsyncGenerator<TaskProgress, void, void> {
    return watchProgress(
      async () => {
        const description = await this.wrap(taskId, () => this.client.workflow.getHandle(taskId).describe());
        return description.status.name !== 'RUNNING';
      },
      () => this.progress(taskId),
      options
    );
  }

  /** Temporal's view of the task (execution status) plus its progress when a worker can answer. */
  async status(taskId: string): Promise<TaskStatus> {
    const description = await this.wrap(taskId, () => this.client.workflow.getHandle(taskId).describe());
    const [progress, retrying] = await Promise.all([
      this.progress(taskId).catch(() => null),
      retriesOf(this.client, description),
    ]);
    const now = Date.now();
    const warnings = retrying.map((r) => retryWarning(r, now));
    return {
      taskId,
      runId: description.runId,
      execution: description.status.name,
      progress:
        progress && warnings.length
          ? { ...progress, warnings: [...(progress.warnings ?? []), ...warnings] }
          : progress,
      retrying,
    };
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
    return this.control(taskId, 'checkpoint', checkpointUpdate, { label });
  }

  /** Validates a control request here (field and rule), then sends it as an update. */
  private async control<R, A>(
    taskId: string,
    kind: ControlKind,
    update: UpdateDefinition<R, [A]>,
    request: unknown
  ): Promise<R> {
    const payload = parseOrThrow(CONTROL_SCHEMAS[kind](), request ?? {}, `${kind} request`) as A;
    return this.request(taskId, kind, () =>
      this.client.workflow.getHandle(taskId).executeUpdate(update, { args: [payload] })
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
        throw new InvalidTransitionError(taskId, request, err.cause?.message ?? err.message);
      }
      if (err instanceof WorkflowNotFoundError) {
        const description = await this.describeOrUndefined(taskId);
        if (!description) throw new UnknownTaskError(taskId);
        // A closed task says what it ended as (a cancelled task's workflow completed normally).
        const state =
          description.typedSearchAttributes.get(LongrunState) ?? description.status.name.toLowerCase();
        throw new InvalidTransitionError(taskId, request, `the task is ${state}`);
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
    const runId = await resetToCheckpoint(this.client, taskId, checkpoint, 'rollback to checkpoint');
    return {
      taskId,
      checkpoint,
      runId,
      stepsToRedo: stepsRedoneByRollback(
        checkpoint,
        plan.map((s) => s.id),
        doneSteps(plan, progress.stepsCompleted)
      ),
    };
  }

  /**
   * Waits for the task to end. A completed task gives its result; a cancelled one its partial results
   * (`state: 'cancelled'`, outputs of the steps it completed, the reason). A failed task throws
   * `WorkflowFailedError`.
   */
  async result(taskId: string): Promise<TaskResult> {
    try {
      return await this.wrap(
        taskId,
        () => this.client.workflow.getHandle(taskId).result() as Promise<LongTaskResult>
      );
    } catch (err) {
      if (!(err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure)) throw err;
      // Engine v1 ended a cancelled task Canceled and left its partial result in a memo.
      const description = await this.client.workflow.getHandle(taskId).describe();
      const memo = description.memo?.[CANCELLED_RESULT_MEMO];
      if (memo && typeof memo === 'object') return memo as LongTaskResult;
      throw err;
    }
  }

  /** What a task has produced so far (outputs, latest checkpoint), while running or after it ended. */
  async partialResult(taskId: string): Promise<PartialResult> {
    return this.wrap(taskId, () => this.query(taskId, resultQuery));
  }

  async close(): Promise<void> {
    await this.ownedConnection?.close();
  }

  /** @internal */
  async describeOrUndefined(taskId: string) {
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
