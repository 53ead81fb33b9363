/**
 * What a task returns when it ends, and the memos a closed task leaves for readers without a worker
 * (dead letters, `longrun failed`). Plain JSON shared by the workflow, the client and the CLI.
 */
import type { ModelUsage } from './model-usage';
import type { CheckpointRecord } from './checkpoints';
import type { FailureRecord } from './failures';
import type { StepOutput } from './step-io';
import type { CarriedState } from './task-state';

export interface LongTaskResult {
  taskId: string;
  /**
   * `partial`: the task reached a limit with `onLimit: "stop"` and ended with what it had (see
   * `reason`, `stepsRemaining`; `longrun continue` picks it up again). `cancelled`: it was cancelled
   * (any way: the client, the CLI, a signal or Temporal's own cancel).
   */
  state: 'completed' | 'partial' | 'cancelled';
  /** Outputs of the steps later steps referenced, of milestone steps and of the last phase, by step id. */
  outputs: Record<string, StepOutput>;
  startedAt: number;
  completedAt: number;
  totalMs: number;
  activeMs: number;
  /** Workflow runs the task took (continue-as-new starts a new run). */
  runs: number;
  stepsCompleted: number;
  /** Non-critical steps that failed and were skipped. */
  skipped?: string[];
  /** What the task's model calls used (every attempt, reused calls counted apart), when it made any. */
  usage?: ModelUsage;
  /** The same by step id, for steps that made model calls (the first 500 such steps). */
  usageByStep?: Record<string, ModelUsage>;
  /** Why it was cancelled or stopped early. */
  reason?: string;
  /** Steps not run, for a partial or cancelled result. */
  stepsRemaining?: number;
  /**
   * Where a `partial` task stopped, for `continueTask` (opaque; it is the state the workflow carries
   * between runs).
   */
  continuation?: CarriedState;
}

/** Memo key holding a failed task's last failure and recovery checkpoint (dead letters). */
export const FAILURE_MEMO = 'longrunFailure';

/** The memo a task that failed leaves. */
export interface FailureMemo {
  error: string;
  failure: FailureRecord | null;
  /** The checkpoint `retry` starts from by default: just before the failed step was scheduled. */
  recoveryCheckpoint: CheckpointRecord;
  checkpoints: CheckpointRecord[];
  failedAt: number;
}

/** Memo key of the partial result of a task that ended Canceled (engine v1 only; v2 returns it). */
export const CANCELLED_RESULT_MEMO = 'longrunCancelledResult';

/** A failure memo read from a workflow description, or undefined when it has none or another shape. */
export function failureMemoOf(memo: Record<string, unknown> | undefined): FailureMemo | undefined {
  const value = memo?.[FAILURE_MEMO];
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Partial<FailureMemo>;
  return typeof v.error === 'string' &&
    typeof v.recoveryCheckpoint === 'object' &&
    Array.isArray(v.checkpoints)
    ? (v as FailureMemo)
    : undefined;
}
