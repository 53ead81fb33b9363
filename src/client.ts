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
  type WorkflowExecutionInfo,
  type WorkflowExecutionStatusName,
} from '@temporalio/client';
import { CancelledFailure, type QueryDefinition, type UpdateDefinition } from '@temporalio/common';
import { WorkflowFailedError } from '@temporalio/client';
import { decodeArrayFromPayloads } from '@temporalio/common/lib/internal-non-workflow';
import { connectionOptions, loadClientConfig, type ClientConfig } from './runtime/config';
import {
  mergeHeartbeats,
  progressAt,
  withItems,
  type ItemProgress,
  type StepBeat,
  type TaskProgress,
} from './shared/progress';
import type { ActivityEntry } from './shared/activity-log';
import {
  CONTROL_SCHEMAS,
  type CancelRequest,
  type ControlKind,
  type ExtendRequest,
  type PauseRequest,
  type ResumeRequest,
} from './shared/control';
import { hasEnded, LIFECYCLE_STATES, type LifecycleState } from './shared/lifecycle';
import {
  LongrunAgent,
  LongrunDurability,
  LongrunPhase,
  LongrunProgress,
  LongrunState,
} from './shared/search-attributes';
import { z } from 'zod';
import { TaskIdSchema, type TaskSpec, type TaskSpecInput } from './shared/spec';
import { visibilityQuery, type VisibilityClause } from './shared/visibility-query';
import { checkSpec } from './shared/spec-check';
import { isStepHeartbeat } from './shared/step-io';
import { parseOrThrow, ValidationError } from './shared/validation';
import {
  ActionCatalogSchema,
  catalogIssues,
  catalogWorkflowId,
  type ActionCatalog,
} from './shared/action-catalog';
import { randomUUID } from 'node:crypto';
import { temporal } from '@temporalio/proto';
import Long from 'long';
import { stepsRedoneByRollback, type CheckpointRecord } from './shared/checkpoints';
import { parseDuration } from './shared/duration';
import { addIndex, type Range } from './shared/ranges';
import { CANCELLED_RESULT_MEMO, failureMemoOf, type LongTaskResult } from './shared/task-result';
import {
  cancelUpdate,
  checkpointsQuery,
  checkpointUpdate,
  extendUpdate,
  lifecycleQuery,
  logsQuery,
  longTask,
  pauseUpdate,
  planQuery,
  progressQuery,
  resultQuery,
  resumeUpdate,
  type LongTaskInput,
} from './workflows/long-task';
import type { LifecycleView, PartialResult, PlannedStepView } from './workflows/messages';
import type { FailureRecord } from './shared/failures';

/** gRPC status code of a query no worker answered in time. */
const GRPC_DEADLINE_EXCEEDED = 4;
const GRPC_NOT_FOUND = 5;

export { MAX_SPEC_BYTES } from './shared/spec-check';

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
  override readonly name: string = 'TaskRequestRejectedError';
  constructor(
    readonly taskId: string,
    readonly request: string,
    readonly reason: string
  ) {
    super(`task "${taskId}" rejected ${request}: ${reason}`);
  }
}

/**
 * A control request the task's current state does not allow (resume a running task, pause a finished
 * one, ...). Nothing changed. `reason` says what the task is doing.
 */
export class InvalidTransitionError extends TaskRequestRejectedError {
  override readonly name: string = 'InvalidTransitionError';
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
  /**
   * Check the spec's actions and step inputs against the catalog the task queue's workers published
   * (`longrun actions`), refusing what they would refuse. @default true
   */
  checkActions?: boolean;
}

/** The worker catalog a spec was checked against before it started. */
export interface CheckedAgainst {
  workerVersion: string;
  publishedAt: string;
}

/** What `start` returns; `JSON.stringify` of it gives `taskId`, `runId`, `started`, `checkedAgainst`. */
export interface StartedTask {
  taskId: string;
  runId: string;
  /** True only for the call that started the task; false when a task with this id already existed. */
  started: boolean;
  /** The worker catalog the spec was checked against; null if no worker had published one. */
  checkedAgainst: CheckedAgainst | null;
  /** Every operation on this task (not enumerable). */
  readonly handle: TaskHandle;
}

/** Temporal's execution status next to longrun's own progress. */
export interface TaskStatus {
  taskId: string;
  runId: string;
  /** RUNNING, COMPLETED, FAILED, CANCELLED, TERMINATED, CONTINUED_AS_NEW or TIMED_OUT. */
  execution: WorkflowExecutionStatusName;
  progress: TaskProgress | null;
}

/** One task in `list`: what the server's visibility store knows (search attributes), no worker needed. */
export interface TaskSummary {
  taskId: string;
  runId: string;
  /** Temporal's execution status: RUNNING, COMPLETED, CANCELLED, FAILED, TERMINATED, TIMED_OUT. */
  execution: WorkflowExecutionStatusName;
  /** longrun's lifecycle state (search attribute `LongrunState`). */
  state: LifecycleState | null;
  agent: string | null;
  durability: string | null;
  phase: string | null;
  /** Whole percent (search attribute `LongrunProgress`; steps, and item reports every 30 s). */
  percent: number | null;
  startedAt: number;
  closedAt: number | null;
}

/** A task whose latest run failed (a dead letter), with what `retry` needs. */
export interface FailedTask extends TaskSummary {
  /** What stopped it, e.g. `step analyze failed: ...`; null for tasks from before failure memos. */
  error: string | null;
  /** The last failure record (step, kind, message, attempt, decision). */
  failure: FailureRecord | null;
  /** Where `retry` starts by default: just before the failed step was scheduled. */
  recoveryCheckpoint: CheckpointRecord | null;
}

export const FailedFilterSchema = z.strictObject({
  agent: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,100}$/, 'must be 1-100 letters, digits, dots, dashes or underscores')
    .optional(),
  limit: z.number().int().min(1).max(10_000).optional(),
});
export type FailedFilter = z.infer<typeof FailedFilterSchema>;

export interface RetryResult {
  taskId: string;
  /** `recovery` (the failed step), `start`, or the checkpoint id given. */
  from: string;
  /** The checkpoint the task restarts at; null when retried from the start. */
  checkpoint: CheckpointRecord | null;
  /** The run the task continues in. */
  runId: string;
}

function summaryOf(info: WorkflowExecutionInfo): TaskSummary {
  const sa = info.typedSearchAttributes;
  const state = sa.get(LongrunState) ?? null;
  return {
    taskId: info.workflowId,
    runId: info.runId,
    execution: info.status.name,
    state: (LIFECYCLE_STATES as readonly string[]).includes(state ?? '') ? (state as LifecycleState) : null,
    agent: sa.get(LongrunAgent) ?? null,
    durability: sa.get(LongrunDurability) ?? null,
    phase: sa.get(LongrunPhase) ?? null,
    percent: sa.get(LongrunProgress) ?? null,
    startedAt: info.startTime.getTime(),
    closedAt: info.closeTime?.getTime() ?? null,
  };
}

export const ListFilterSchema = z.strictObject({
  state: z.enum(LIFECYCLE_STATES, { message: `must be one of ${LIFECYCLE_STATES.join(', ')}` }).optional(),
  agent: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,100}$/, 'must be 1-100 letters, digits, dots, dashes or underscores')
    .optional(),
  /** Only tasks whose workflow is still open (running or paused). */
  running: z.boolean().optional(),
  /** At most this many, newest first. @default 100 */
  limit: z.number().int().min(1).max(10_000).optional(),
});
export type ListFilter = z.input<typeof ListFilterSchema>;

export interface WatchOptions {
  /** How often to ask for progress, ms (50 to 60000). @default 1000 */
  intervalMs?: number;
  /** Stop early. */
  signal?: AbortSignal;
}

/** How a task ended, from `result`: a completed task's result, or a cancelled task's partial results. */
export type TaskResult = LongTaskResult;

export interface ConnectOptions {
  /** Settings; default: `loadClientConfig()` from the environment (a worker's `LongrunConfig` fits too). */
  config?: ClientConfig;
  /** Frontend address; default `config.address`, else the embedded dev server's 127.0.0.1:<LONGRUN_DEV_PORT>. */
  address?: string;
  /** How long to wait for the server, in ms. @default 5000 */
  connectTimeoutMs?: number;
}

/** How long `actions()` reuses what it read (a burst of starts reads the catalog once). */
const CATALOG_CACHE_MS = 5_000;

export class LongrunClient {
  private catalogCache: { at: number; catalogs: ActionCatalog[] } | undefined;

  constructor(
    readonly client: Client,
    readonly taskQueue: string,
    private readonly ownedConnection?: Connection,
    /** Webhook URLs added to every task this client starts (`LONGRUN_WEBHOOK_URLS` with `connect`). */
    private readonly webhookUrls: readonly string[] = []
  ) {}

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
    const existing = await this.describeOrUndefined(spec.taskId);
    if (existing) return this.started(spec.taskId, existing.runId, false, checkedAgainst);
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
        // A concurrent start of the same id fails here and reports `started: false` below.
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
   * since the server's data began). Read from the catalog workflow's memo: no worker needs to run.
   */
  async actions(): Promise<ActionCatalog[]> {
    const cached = this.catalogCache;
    if (cached && Date.now() - cached.at < CATALOG_CACHE_MS) return cached.catalogs;
    let catalogs: ActionCatalog[] = [];
    try {
      // The catalogs are the input of the catalog workflow's current run: its first event.
      const { history } = await this.client.workflowService.getWorkflowExecutionHistory({
        namespace: this.client.options.namespace,
        execution: { workflowId: catalogWorkflowId(this.taskQueue) },
        maximumPageSize: 1,
      });
      const payloads = history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads ?? [];
      const [input] = await decodeArrayFromPayloads(this.client.options.loadedDataConverter, payloads);
      const parsed = z
        .array(ActionCatalogSchema)
        .safeParse((input as { catalogs?: unknown } | undefined)?.catalogs ?? []);
      catalogs = parsed.success ? parsed.data : [];
    } catch (err) {
      if ((err as { code?: number }).code !== GRPC_NOT_FOUND) throw err;
    }
    // An empty answer is not kept: the first worker may publish any moment now.
    this.catalogCache = catalogs.length > 0 ? { at: Date.now(), catalogs } : undefined;
    return catalogs;
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
    const handle = this.client.workflow.getHandle(taskId);
    const [progress, description] = await this.wrap(taskId, () =>
      Promise.all([this.query(taskId, progressQuery), handle.describe()])
    );
    if (hasEnded(progress.state)) return progress;
    const beats: StepBeat[] = [];
    for (const pending of description.raw.pendingActivities ?? []) {
      if (!pending.heartbeatDetails?.payloads?.length) continue;
      const [details] = await decodeArrayFromPayloads(
        this.client.options.loadedDataConverter,
        pending.heartbeatDetails.payloads
      );
      if (isStepHeartbeat(details)) beats.push(details);
    }
    const now = Date.now();
    if (progress.running) return progressAt(mergeHeartbeats(progress, beats, now), now);
    // A task started before engine v2: one running step, whose items the single heartbeat carries.
    const beat = beats[0];
    if (progress.state === 'executing' && beat) {
      const items: ItemProgress = {
        done: beat.done,
        total: beat.total,
        ...(beat.note ? { note: beat.note } : {}),
        ...(beat.rate === undefined ? {} : { rate: beat.rate }),
        ...(beat.at === undefined ? {} : { at: beat.at }),
      };
      if (!progress.items || (progress.items.at ?? 0) <= (items.at ?? Number.MAX_SAFE_INTEGER)) {
        return progressAt(withItems(progress, items, now), now);
      }
    }
    return progressAt(progress, now);
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
    let byMs: number;
    try {
      byMs = parseDuration(request?.by);
    } catch (err) {
      throw new ValidationError('continue request', [{ path: 'by', rule: (err as Error).message }]);
    }
    const description = await this.describeOrUndefined(taskId);
    if (!description) throw new UnknownTaskError(taskId);
    const handle = this.client.workflow.getHandle(taskId);
    const ended =
      description.status.name === 'COMPLETED' ? ((await handle.result()) as LongTaskResult) : undefined;
    if (!ended || ended.state !== 'partial' || !ended.continuation) {
      const what = ended ? `ended ${ended.state}` : description.status.name.toLowerCase();
      throw new InvalidTransitionError(
        taskId,
        'continue',
        `the task ${what}; only a task stopped at a limit (partial) can be continued`
      );
    }
    // The spec as the run was started with it: the first event of the latest run.
    const history = await handle.fetchHistory();
    const started = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads ?? [];
    const [input] = (await decodeArrayFromPayloads(this.client.options.loadedDataConverter, started)) as [
      LongTaskInput,
    ];
    const next = await this.client.workflow.start(longTask, {
      taskQueue: this.taskQueue,
      workflowId: taskId,
      args: [
        {
          spec: input.spec,
          carried: ended.continuation,
          continued: { byMs, reason: request.reason ?? 'continue requested' },
          ...(input.searchAttributes === false ? { searchAttributes: false } : {}),
        },
      ],
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      workflowIdConflictPolicy: 'FAIL',
      staticSummary: `${taskId}, continued after its limit (+${request.by})`,
    });
    return this.started(taskId, next.firstExecutionRunId, true, null);
  }

  /** Moves a task's deadline: `{ by: '2h' }` or `{ until: '2026-12-01T00:00:00Z' }`. */
  async extend(taskId: string, request: ExtendRequest): Promise<TaskProgress> {
    return this.control(taskId, 'extend', extendUpdate, request);
  }

  /** The task's activity log, oldest first (the latest 100 entries). */
  async logs(taskId: string): Promise<ActivityEntry[]> {
    return this.wrap(taskId, () => this.query(taskId, logsQuery));
  }

  /**
   * longrun tasks in the namespace, newest first, from the server's visibility store (search
   * attributes), filtered by lifecycle state and agent. Continued-as-new runs are left out: one row per task.
   */
  async list(filter: ListFilter = {}): Promise<TaskSummary[]> {
    const f = parseOrThrow(ListFilterSchema, filter, 'list filter');
    const clauses: VisibilityClause[] = [
      ['WorkflowType', '=', 'longTask'],
      ['ExecutionStatus', '!=', 'ContinuedAsNew'],
    ];
    if (f.state) clauses.push(['LongrunState', '=', f.state]);
    if (f.agent) clauses.push(['LongrunAgent', '=', f.agent]);
    if (f.running) clauses.push(['ExecutionStatus', '=', 'Running']);
    const out: TaskSummary[] = [];
    const limit = f.limit ?? 100;
    for await (const info of this.client.workflow.list({
      query: visibilityQuery(clauses),
      pageSize: Math.min(limit, 1000),
    })) {
      out.push(summaryOf(info));
      if (out.length >= limit) break;
    }
    return out;
  }

  /**
   * Dead letters: tasks whose latest run failed, newest first, with the last failure and the recovery
   * checkpoint (from the task's memo: no worker needed). Retry them with `retry`.
   */
  async listFailed(filter: FailedFilter = {}): Promise<FailedTask[]> {
    const f = parseOrThrow(FailedFilterSchema, filter, 'failed filter');
    const out: FailedTask[] = [];
    const seen = new Set<string>();
    const clauses: VisibilityClause[] = [
      ['WorkflowType', '=', 'longTask'],
      ['ExecutionStatus', '=', 'Failed'],
    ];
    if (f.agent) clauses.push(['LongrunAgent', '=', f.agent]);
    for await (const info of this.client.workflow.list({ query: visibilityQuery(clauses) })) {
      const row = summaryOf(info);
      // Visibility lists every run: only a task's latest run says whether it is still failed.
      if (row.execution !== 'FAILED' || seen.has(row.taskId)) continue;
      seen.add(row.taskId);
      const latest = await this.describeOrUndefined(row.taskId);
      if (!latest || latest.runId !== row.runId || latest.status.name !== 'FAILED') continue;
      const memo = failureMemoOf(latest.memo);
      out.push({
        ...row,
        error: memo?.error ?? null,
        failure: memo?.failure ?? null,
        recoveryCheckpoint: memo?.recoveryCheckpoint ?? null,
      });
      if (out.length >= (f.limit ?? 100)) break;
    }
    return out;
  }

  /**
   * Runs a failed task again: from its recovery checkpoint (the failed step is scheduled anew, the
   * steps before it are not redone), from another named checkpoint, or from the start (`from:
   * 'start'`). A Temporal reset: the task keeps its id and history, and continues in a new run.
   */
  async retry(taskId: string, options: { from?: string } = {}): Promise<RetryResult> {
    const from = options.from ?? 'recovery';
    if (typeof from !== 'string' || from.trim() === '') {
      throw new ValidationError('retry options', [
        { path: 'from', rule: 'must be "start", "recovery" or a checkpoint id' },
      ]);
    }
    const latest = await this.describeOrUndefined(taskId);
    if (!latest) throw new UnknownTaskError(taskId);
    if (latest.status.name !== 'FAILED') {
      throw new InvalidTransitionError(
        taskId,
        'retry',
        `the task is ${latest.status.name.toLowerCase()}, not failed; only a failed task can be retried`
      );
    }
    if (from === 'start') {
      const first = await this.firstRun(taskId);
      const runId = await this.resetTo(taskId, first.runId, first.eventId, 'longrun retry from the start');
      return { taskId, from, checkpoint: null, runId };
    }
    if (from === 'recovery') {
      const checkpoint = failureMemoOf(latest.memo)?.recoveryCheckpoint;
      if (!checkpoint) {
        throw new InvalidTransitionError(
          taskId,
          'retry',
          'the task has no recovery checkpoint (it failed before longrun recorded them): retry from "start" or a checkpoint id'
        );
      }
      const runId = await this.resetTo(
        taskId,
        checkpoint.runId,
        checkpoint.resetEventId,
        `longrun retry from recovery checkpoint ${checkpoint.id} (${checkpoint.label})`
      );
      return { taskId, from, checkpoint, runId };
    }
    // The failed run's memo lists its checkpoints: no query (and no worker) needed.
    const memo = failureMemoOf(latest.memo);
    if (!memo) {
      const rolled = await this.rollback(taskId, from);
      return { taskId, from, checkpoint: rolled.checkpoint, runId: rolled.runId };
    }
    const checkpoint = memo.checkpoints.find((c) => c.id === from);
    if (!checkpoint) {
      throw new UnknownCheckpointError(
        taskId,
        from,
        memo.checkpoints.map((c) => c.id)
      );
    }
    const runId = await this.resetTo(
      taskId,
      checkpoint.runId,
      checkpoint.resetEventId,
      `longrun retry from checkpoint ${checkpoint.id} (${checkpoint.label})`
    );
    return { taskId, from, checkpoint, runId };
  }

  /** The task's first run and the event id of its first completed workflow task. */
  private async firstRun(taskId: string): Promise<{ runId: string; eventId: number }> {
    let first: { runId: string; startedAt: number } | undefined;
    const query = visibilityQuery([['WorkflowId', '=', parseOrThrow(TaskIdSchema, taskId, 'task id')]]);
    for await (const info of this.client.workflow.list({ query })) {
      const startedAt = info.startTime.getTime();
      if (!first || startedAt < first.startedAt) first = { runId: info.runId, startedAt };
    }
    if (!first) throw new UnknownTaskError(taskId);
    const history = await this.client.workflow.getHandle(taskId, first.runId).fetchHistory();
    const { EventType } = temporal.api.enums.v1;
    const completed = history.events?.find(
      (e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
    );
    if (!completed?.eventId)
      throw new Error(`task "${taskId}": its first run never completed a workflow task`);
    return { runId: first.runId, eventId: Number(completed.eventId) };
  }

  /** A Temporal reset of `runId` to a workflow task; signals and updates after it are not reapplied. */
  private async resetTo(taskId: string, runId: string, eventId: number, reason: string): Promise<string> {
    const { ResetReapplyExcludeType } = temporal.api.enums.v1;
    const response: temporal.api.workflowservice.v1.IResetWorkflowExecutionResponse =
      await this.client.workflowService.resetWorkflowExecution({
        namespace: this.client.options.namespace,
        workflowExecution: { workflowId: taskId, runId },
        workflowTaskFinishEventId: Long.fromNumber(eventId),
        reason,
        requestId: randomUUID(),
        resetReapplyExcludeTypes: [
          ResetReapplyExcludeType.RESET_REAPPLY_EXCLUDE_TYPE_SIGNAL,
          ResetReapplyExcludeType.RESET_REAPPLY_EXCLUDE_TYPE_UPDATE,
        ],
      });
    return response.runId ?? '';
  }

  /**
   * Progress updates of a task as they happen: yields the current progress, then each change (asked
   * every `intervalMs`), and ends after yielding the final progress once the task has ended.
   */
  async *watch(taskId: string, options: WatchOptions = {}): AsyncGenerator<TaskProgress, void, void> {
    const intervalMs = options.intervalMs ?? 1_000;
    if (!Number.isFinite(intervalMs) || intervalMs < 50 || intervalMs > 60_000) {
      throw new ValidationError('watch options', [
        { path: 'intervalMs', rule: 'must be between 50 and 60000 ms' },
      ]);
    }
    let previous = '';
    for (;;) {
      if (options.signal?.aborted) return;
      const description = await this.wrap(taskId, () => this.client.workflow.getHandle(taskId).describe());
      const closed = description.status.name !== 'RUNNING';
      const progress = await this.progress(taskId);
      const key = JSON.stringify([
        progress.state,
        progress.percent,
        progress.items,
        progress.lastCheckpoint,
        progress.step.index,
      ]);
      if (key !== previous || closed) {
        previous = key;
        yield progress;
      }
      if (closed) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, intervalMs);
        options.signal?.addEventListener(
          'abort',
          () => {
            clearTimeout(timer);
            resolve();
          },
          { once: true }
        );
      });
    }
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
    return this.control(taskId, 'checkpoint', checkpointUpdate, { label });
  }

  /** Validates a control request here (field and rule), then sends it as an update. */
  private async control<R, A>(
    taskId: string,
    kind: ControlKind,
    update: UpdateDefinition<R, [A]>,
    request: unknown
  ): Promise<R> {
    const payload = parseOrThrow(CONTROL_SCHEMAS[kind], request ?? {}, `${kind} request`) as A;
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
    const runId = await this.resetTo(
      taskId,
      checkpoint.runId,
      checkpoint.resetEventId,
      `longrun rollback to checkpoint ${checkpoint.id} (${checkpoint.label})`
    );
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

/** Plan indices done: from each step's status (engine v2), else the first `stepsCompleted` (v1). */
function doneSteps(plan: PlannedStepView[], stepsCompleted: number): Range[] {
  if (plan.some((s) => s.status !== undefined)) {
    return plan.reduce<Range[]>(
      (set, s) => (s.status === 'done' || s.status === 'skipped' ? addIndex(set, s.index) : set),
      []
    );
  }
  return stepsCompleted > 0 ? [[0, stepsCompleted - 1]] : [];
}

/** A task bound to its id: every client operation without repeating it. */
export class TaskHandle {
  constructor(
    private readonly longrun: LongrunClient,
    readonly taskId: string,
    /** The run the task was in when the handle was made (continue-as-new moves on). */
    readonly runId: string
  ) {}
  progress(): Promise<TaskProgress> {
    return this.longrun.progress(this.taskId);
  }
  status(): Promise<TaskStatus> {
    return this.longrun.status(this.taskId);
  }
  pause(request?: PauseRequest): Promise<TaskProgress> {
    return this.longrun.pause(this.taskId, request);
  }
  resume(request?: ResumeRequest): Promise<TaskProgress> {
    return this.longrun.resume(this.taskId, request);
  }
  cancel(request?: CancelRequest): Promise<TaskProgress> {
    return this.longrun.cancel(this.taskId, request);
  }
  extend(request: ExtendRequest): Promise<TaskProgress> {
    return this.longrun.extend(this.taskId, request);
  }
  checkpoint(label: string): Promise<CheckpointRecord> {
    return this.longrun.checkpoint(this.taskId, label);
  }
  checkpoints(): Promise<CheckpointRecord[]> {
    return this.longrun.checkpoints(this.taskId);
  }
  rollback(checkpointId: string): Promise<RollbackResult> {
    return this.longrun.rollback(this.taskId, checkpointId);
  }
  logs(): Promise<ActivityEntry[]> {
    return this.longrun.logs(this.taskId);
  }
  watch(options?: WatchOptions): AsyncGenerator<TaskProgress, void, void> {
    return this.longrun.watch(this.taskId, options);
  }
  result(): Promise<TaskResult> {
    return this.longrun.result(this.taskId);
  }
}
