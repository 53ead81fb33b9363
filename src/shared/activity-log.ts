/**
 * A task's activity log: what happened, in words, newest last. Kept in workflow state (bounded), shown
 * by `longrun logs`, the `progress` query's recent activity and the Web UI's current details.
 */

export const ACTIVITY_KINDS = [
  'step',
  'checkpoint',
  'milestone',
  'error',
  'warning',
  'control',
  'info',
] as const;
export type ActivityKind = (typeof ACTIVITY_KINDS)[number];

export interface ActivityEntry {
  /** Epoch ms (workflow time). */
  at: number;
  kind: ActivityKind;
  message: string;
  /** The step it concerns, if any. */
  stepId?: string;
}

/** Entries kept in the task's state; older ones are dropped (the Temporal history keeps every event). */
export const ACTIVITY_LOG_LIMIT = 100;

/** Appends an entry, keeping the newest `limit`. Pure. */
export function appendActivity(
  log: readonly ActivityEntry[],
  entry: ActivityEntry,
  limit = ACTIVITY_LOG_LIMIT
): ActivityEntry[] {
  const next = [...log, entry];
  return next.length > limit ? next.slice(next.length - limit) : next;
}

/** "12:04:31 [checkpoint] manual-3: before deploy": one line of `longrun logs`. */
export function formatActivity(entry: ActivityEntry): string {
  const time = new Date(entry.at)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');
  return `${time} [${entry.kind}] ${entry.message}`;
}
