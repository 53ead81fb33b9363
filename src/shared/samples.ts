/** A point of the progress history. */
export interface ProgressSample {
  /** Epoch ms (workflow time). */
  at: number;
  percent: number;
  stepsCompleted: number;
  /** Active (unpaused) time of the task at this point, ms (absent in samples of tasks started before it was recorded). */
  activeMs?: number;
}

/**
 * Appends a sample to a bounded history: when full, every other sample of the older half is dropped,
 * so the history always spans the whole task at a coarser grain. Pure.
 */
export function appendSample<T>(history: readonly T[], sample: T, max = 100): T[] {
  const next = [...history, sample];
  if (next.length <= max) return next;
  const half = Math.floor(next.length / 2);
  const older = next.slice(0, half).filter((_, i) => i % 2 === 0);
  return [...older, ...next.slice(half)];
}
