/**
 * Named checkpoints: records a user can list and roll back to. Each points at a workflow task of a
 * given run (`runId`, `resetEventId`), so a rollback is a Temporal reset to that point.
 */
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
}

export interface PruneOptions {
  /** @default 10 */
  keepLatest?: number;
  /** @default 50 */
  max?: number;
}

/**
 * Seed 001's pruning: keep the latest 10 records plus every milestone and phase record, at most 50 in
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

/** Ids of completed steps a rollback to `record` runs again, given how many steps are completed now. */
export function stepsRedoneByRollback(
  record: Pick<CheckpointRecord, 'stepIndex'>,
  stepIds: readonly string[],
  stepsCompleted: number
): string[] {
  return stepIds.slice(record.stepIndex, Math.max(record.stepIndex, stepsCompleted));
}
