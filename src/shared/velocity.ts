/**
 * Velocity and ETA: pure math over a task's progress samples, used by the workflow's `progress` query
 * and again by the client once it has merged the running step's fresher item progress.
 *
 * Time is *active* time (paused time excluded), so a pause neither slows the measured velocity nor
 * makes the ETA run out while nothing happens.
 */

export type EtaConfidence = 'low' | 'medium' | 'high';

/** A point of progress: the task's percent after `activeMs` of active (unpaused) time. */
export interface ProgressPoint {
  activeMs: number;
  percent: number;
}

export interface Velocity {
  /** Percentage points per hour of active time over the recent window; null until measurable. */
  percentPerHour: number | null;
  /** Items per second of the running step, when it reports items; null otherwise. */
  itemsPerSecond: number | null;
  /** Active time still needed at the current velocity, ms; null when unknown. */
  etaMs: number | null;
  /** How far to trust `etaMs` (see `etaConfidence`). */
  confidence: EtaConfidence;
}

/** Velocity is measured over the most recent stretch of this much active time. */
export const VELOCITY_WINDOW_MS = 30 * 60_000;
/** Less active time than this between the first and last point says nothing about speed. */
export const MIN_SPAN_MS = 5_000;

const HOUR_MS = 3_600_000;

/**
 * Percentage points per hour of active time over the last `windowMs` of `points` (sorted by
 * `activeMs`), or null with fewer than two points or less than `MIN_SPAN_MS` between them.
 */
export function percentPerHour(
  points: readonly ProgressPoint[],
  windowMs = VELOCITY_WINDOW_MS
): number | null {
  const recent = windowOf(points, windowMs);
  if (recent.length < 2) return null;
  const first = recent[0] as ProgressPoint;
  const last = recent[recent.length - 1] as ProgressPoint;
  const span = last.activeMs - first.activeMs;
  if (span < MIN_SPAN_MS) return null;
  return Math.max(0, ((last.percent - first.percent) / span) * HOUR_MS);
}

/**
 * Confidence in an ETA, from how much evidence there is and how steady the speed has been:
 * - high: at least 5 points spanning 2+ minutes, 10%+ done, segment speeds within 25% of each other
 *   (coefficient of variation);
 * - medium: at least 3 points spanning 30+ seconds and speeds within 60%;
 * - low: anything less (including a task that has not moved yet).
 */
export function etaConfidence(
  points: readonly ProgressPoint[],
  windowMs = VELOCITY_WINDOW_MS
): EtaConfidence {
  const recent = windowOf(points, windowMs);
  if (recent.length < 3) return 'low';
  const first = recent[0] as ProgressPoint;
  const last = recent[recent.length - 1] as ProgressPoint;
  const span = last.activeMs - first.activeMs;
  const speeds: number[] = [];
  for (let i = 1; i < recent.length; i++) {
    const a = recent[i - 1] as ProgressPoint;
    const b = recent[i] as ProgressPoint;
    if (b.activeMs > a.activeMs) speeds.push((b.percent - a.percent) / (b.activeMs - a.activeMs));
  }
  const cv = coefficientOfVariation(speeds);
  if (cv === null) return 'low';
  if (recent.length >= 5 && span >= 120_000 && last.percent >= 10 && cv <= 0.25) return 'high';
  if (span >= 30_000 && cv <= 0.6) return 'medium';
  return 'low';
}

/**
 * The full estimate for a task at `current`, given its earlier samples. `items` is the running step's
 * item rate when it reports one. A finished task (100%) has an ETA of 0 with high confidence.
 */
export function estimate(
  history: readonly ProgressPoint[],
  current: ProgressPoint,
  itemsPerSecond: number | null = null
): Velocity {
  if (current.percent >= 100) {
    return {
      percentPerHour: percentPerHour([...history, current]),
      itemsPerSecond,
      etaMs: 0,
      confidence: 'high',
    };
  }
  const points = [...history.filter((p) => p.activeMs <= current.activeMs), current];
  const speed = percentPerHour(points);
  const etaMs = speed !== null && speed > 0 ? Math.round(((100 - current.percent) / speed) * HOUR_MS) : null;
  return {
    percentPerHour: speed,
    itemsPerSecond,
    etaMs,
    confidence: etaMs === null ? 'low' : etaConfidence(points),
  };
}

/** An item count at a moment (epoch ms), as the step context samples them. */
export interface ItemSample {
  at: number;
  done: number;
}

/**
 * Items per second over the samples within `windowMs` of the newest one; null with fewer than two
 * samples or under a second between them.
 */
export function itemRate(samples: readonly ItemSample[], windowMs = 60_000): number | null {
  const last = samples[samples.length - 1];
  if (!last) return null;
  const first = samples.find((s) => s.at >= last.at - windowMs) ?? last;
  const span = last.at - first.at;
  if (span < 1_000) return null;
  return Math.max(0, ((last.done - first.done) / span) * 1_000);
}

function windowOf(points: readonly ProgressPoint[], windowMs: number): ProgressPoint[] {
  const last = points[points.length - 1];
  if (!last) return [];
  return points.filter((p) => p.activeMs >= last.activeMs - windowMs);
}

function coefficientOfVariation(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  if (mean <= 0) return null;
  const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length;
  return Math.sqrt(variance) / mean;
}
