/** The options and results of the client's operations. */
import type { WorkflowExecutionStatusName } from '@temporalio/client';
import { z } from 'zod';
import type { CheckpointRecord } from '../shared/checkpoints';
import type { FailureKind, FailureRecord } from '../shared/failures';
import { LIFECYCLE_STATES, type LifecycleState } from '../shared/lifecycle';
import type { TaskProgress } from '../shared/progress';
import type { LongTaskResult } from '../shared/task-result';
import type { ClientConfig } from '../runtime/config';
import type { TaskHandle } from './handle';

/** Temporal's execution status names, as the SDK reports them. */
export type { WorkflowExecutionStatusName };

/** An agent name in a filter: the characters search attribute values are written with. */
const AgentFilterSchema = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,100}$/, 'must be 1-100 letters, digits, dots, dashes or underscores');

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
  /** Its warnings include one line per step in `retrying`. */
  progress: TaskProgress | null;
  /**
   * Steps that failed and that Temporal retries (a resource failure waits for its delay, a crashed
   * worker's step for its heartbeat timeout): the workflow sees them only once retries run out.
   */
  retrying: StepRetry[];
}

/** A step Temporal is retrying (inside the step's retry policy, so the workflow does not see it yet). */
export interface StepRetry {
  /** The step, from longrun's failure message or the step's last heartbeat; null when neither says. */
  stepId: string | null;
  /** longrun's failure kind (`resource`: disk, memory, a quota or a child process cap); null for Temporal's own (a heartbeat timeout: the worker died). */
  kind: FailureKind | null;
  /** The attempt under way, or the next one when `nextAttemptAt` is set. */
  attempt: number;
  /** The last attempt's failure, without longrun's `step <id> (<kind>): ` prefix. */
  message: string;
  /** When the next attempt starts (epoch ms); null while an attempt runs. */
  nextAttemptAt: number | null;
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
  agent: AgentFilterSchema.optional(),
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

export const ListFilterSchema = z.strictObject({
  state: z.enum(LIFECYCLE_STATES, { message: `must be one of ${LIFECYCLE_STATES.join(', ')}` }).optional(),
  agent: AgentFilterSchema.optional(),
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
