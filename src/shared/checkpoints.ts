/**
 * Named checkpoints: records a user can list and roll back to. Each points at a workflow task of a
 * given run (`runId`, `resetEventId`), so a rollback is a Temporal reset to that point, and holds the
 * task's position there: which steps were done and where every running step had got to.
 */
import { hasIndex, type Range } from './ranges';
import type { FanState, StoppedStep } from './task-state';

export const CHECKPOINT_TYPES = [
  'automatic',
  'manual',
  'phase',
  'milestone',
  'pre-risky',
  'recovery',
] as const;
export type CheckpointType = (typeof CHECKPOINT_TYPES)[number];

export interface CheckpointRecord {
  /** Unique within the task, e.g. `phase-3`. */
  id: string;
  type: CheckpointType;
  label: string;
  /** Index of the first step not yet completed at this point: a rollback runs it and all after it again. */
  stepIndex: number;
  /** Id of that step, or null at the end of the task. */
  stepId: string | null;
  /** In-step cursor of that step when it had been stopped part way, else null. */
  cursor: unknown;
  /** The workflow run that holds the reset point (runs change at continue-as-new). */
  runId: string;
  /** WorkflowTaskCompleted event id to reset to. */
  resetEventId: number;
  /** Epoch ms (workflow time). */
  at: number;
  /** The whole position (absent in records of tasks started before engine v2). */
  position?: CheckpointPosition;
  /**
   * The task's workspace snapshot at this checkpoint (tasks with a `workspace`): files and bytes in
   * it, and the bytes it added to the store; `error` when it could not be taken.
   */
  workspace?: { files: number; bytes: number; newBytes: number } | { error: string };
}

/** Where the task stood: every running step had stopped and handed over its cursor. */
export interface CheckpointPosition {
  /** Plan indices of the steps done. */
  done: Range[];
  /** Steps stopped part way, by id. */
  stopped: Record<string, StoppedStep>;
  /** Fan-out steps begun, by id. */
  fans: Record<string, FanState>;
}

export interface PruneOptions {
  /** @default 10 */
  keepLatest?: number;
  /** @default 50 */
  max?: number;
}

/**
 * Pruning the checkpoint list: keep the latest 10 records plus every milestone and phase record, at most 50 in
 * all (the oldest milestone and phase records go first). Order is kept.
 */
export function pruneCheckpoints(
  records: readonly CheckpointRecord[],
  opts: PruneOptions = {}
): CheckpointRecord[] {
  const keepLatest = opts.keepLatest ?? 10;
  const max = opts.max ?? 50;
  const latest = new Set(records.slice(-keepLatest).map((r) => r.id));
  const kept = records.filter((r) => latest.has(r.id) || r.type === 'milestone' || r.type === 'phase');
  if (kept.length <= max) return kept;
  const dropCount = kept.length - max;
  const droppable = kept
    .filter((r) => !latest.has(r.id))
    .slice(0, dropCount)
    .map((r) => r.id);
  const drop = new Set(droppable);
  return kept.filter((r) => !drop.has(r.id));
}

/**
 * Ids of the steps done now that a rollback to `record` runs again: those done now and not done at the
 * checkpoint. `doneNow` holds the plan indices done now.
 */
export function stepsRedoneByRollback(
  record: Pick<CheckpointRecord, 'stepIndex' | 'position'>,
  stepIds: readonly string[],
  doneNow: readonly Range[]
): string[] {
  const doneThen: readonly Range[] =
    record.position?.done ?? (record.stepIndex > 0 ? [[0, record.stepIndex - 1]] : []);
  return stepIds.filter((_, i) => hasIndex(doneNow, i) && !hasIndex(doneThen, i));
}
