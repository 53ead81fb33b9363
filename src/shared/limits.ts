/**
 * Time limits of a task as policies (the expected duration's category, short to indefinite, picks the defaults; a spec may set
 * any limit up to a year and say what happens when one is reached), the working-time clocks of
 * phases, the warnings at 75%, and idle detection. Pure functions of times the workflow keeps; the
 * workflow sets one timer for the next moment any of them is due.
 */
import type { TaskSpec } from './spec';

/** How long a task is expected to run, or `indefinite`: until it is cancelled (continuous monitoring). */
export const DURATION_CATEGORIES = ['short', 'medium', 'long', 'extended', 'indefinite'] as const;
export type DurationCategory = (typeof DURATION_CATEGORIES)[number];

/**
 * What happens when a task reaches its deadline or a phase its limit: `warn` (a warning and a
 * `task.deadline` webhook, the task runs on), `pause` (every running step saves its cursor; `extend`
 * then `resume` continues) or `stop` (a final checkpoint, then partial results; `longrun continue`
 * picks it up again).
 */
export const LIMIT_POLICIES = ['warn', 'pause', 'stop'] as const;
export type LimitPolicy = (typeof LIMIT_POLICIES)[number];

const MIN = 60_000;
const HOUR = 60 * MIN;

export interface CategoryDefaults {
  /** What the category means, for docs and errors. */
  expected: string;
  /** Task limit (sets the deadline when the spec gives none), ms; null: no deadline. */
  taskMs: number | null;
  /** Working-time limit of each phase, ms; null: none. */
  phaseMs: number | null;
  onLimit: LimitPolicy;
}

/** Defaults by category; docs/spec.md publishes this table. */
export const CATEGORY_DEFAULTS: Readonly<Record<DurationCategory, CategoryDefaults>> = {
  short: { expected: 'under a minute', taskMs: 10 * MIN, phaseMs: 10 * MIN, onLimit: 'stop' },
  medium: { expected: '1 to 10 minutes', taskMs: HOUR, phaseMs: 30 * MIN, onLimit: 'stop' },
  long: { expected: '10 to 60 minutes', taskMs: 4 * HOUR, phaseMs: 2 * HOUR, onLimit: 'stop' },
  extended: { expected: 'over an hour', taskMs: null, phaseMs: null, onLimit: 'pause' },
  indefinite: { expected: 'until cancelled', taskMs: null, phaseMs: null, onLimit: 'pause' },
};

/** A spec that names neither a category nor an estimate. */
export const DEFAULT_CATEGORY: DurationCategory = 'long';

/** The longest limit a spec may set: a year. */
export const MAX_LIMIT_MS = 366 * 24 * HOUR;

/** A warning is logged (and sent to webhooks) when this share of a limit is used. */
export const LIMIT_WARNING_SHARE = 0.75;

export const DEFAULT_IDLE_MS = { warning: 5 * MIN, pause: 15 * MIN } as const;

/** The duration category of a task expected to take `estimateMs`: under 1 min short, to 10 min medium, to 1 h long, beyond extended. */
export function categoryForEstimate(estimateMs: number): DurationCategory {
  if (estimateMs < MIN) return 'short';
  if (estimateMs <= 10 * MIN) return 'medium';
  if (estimateMs <= HOUR) return 'long';
  return 'extended';
}

export function categoryOf(spec: Pick<TaskSpec, 'category' | 'estimate'>): DurationCategory {
  if (spec.category) return spec.category;
  return spec.estimate === undefined ? DEFAULT_CATEGORY : categoryForEstimate(spec.estimate);
}

/** The limits a task runs under: the spec's own over its category's defaults. */
export interface TaskLimits {
  category: DurationCategory;
  /** Time from start to the deadline when the spec gives no `deadline`; null: none. */
  taskMs: number | null;
  phaseMs: number | null;
  onLimit: LimitPolicy;
  idleWarningMs: number;
  idlePauseMs: number;
}

export function taskLimitsOf(spec: TaskSpec): TaskLimits {
  const category = categoryOf(spec);
  const defaults = CATEGORY_DEFAULTS[category];
  const t = spec.timeouts;
  return {
    category,
    taskMs: t?.task ?? defaults.taskMs,
    phaseMs: t?.phase ?? defaults.phaseMs,
    onLimit: spec.onLimit ?? defaults.onLimit,
    idleWarningMs: t?.idleWarning ?? DEFAULT_IDLE_MS.warning,
    idlePauseMs: t?.idlePause ?? DEFAULT_IDLE_MS.pause,
  };
}

/** The deadline a task started at `startedAt` gets (epoch ms), or null for none. */
export function initialDeadline(spec: TaskSpec, limits: TaskLimits, startedAt: number): number | null {
  if (spec.deadline !== undefined) return Date.parse(spec.deadline);
  return limits.taskMs === null ? null : startedAt + limits.taskMs;
}

/**
 * The working time of a phase: it runs while any of the phase's steps works and stops while the task
 * is paused or only `longrun.wait` timers run. Carried across continue-as-new.
 */
export interface PhaseClock {
  /** Index of the phase the clock belongs to. */
  index: number;
  /** Working time used before `runningSince`, ms. */
  usedMs: number;
  /** Workflow time the clock last started; null while stopped. */
  runningSince: number | null;
  /** Time added to the phase's limit by `extend`, ms. */
  extraMs: number;
}

export function newPhaseClock(index: number, now: number): PhaseClock {
  return { index, usedMs: 0, runningSince: now, extraMs: 0 };
}

export function phaseUsedMs(clock: PhaseClock, now: number): number {
  return clock.usedMs + (clock.runningSince === null ? 0 : Math.max(0, now - clock.runningSince));
}

export function stopClock(clock: PhaseClock, now: number): PhaseClock {
  return clock.runningSince === null
    ? clock
    : { ...clock, usedMs: phaseUsedMs(clock, now), runningSince: null };
}

export function startClock(clock: PhaseClock, now: number): PhaseClock {
  return clock.runningSince === null ? { ...clock, runningSince: now } : clock;
}

/**
 * Limits already acted on, keyed by the limit's value (deadline, or a phase limit with its
 * extensions), so an extension re-arms them and nothing fires twice for one value.
 */
export interface LimitMarks {
  task?: number;
  /** By phase index. */
  phases: Record<string, number>;
}

export interface LimitsView {
  now: number;
  /** When the task started (workflow time): the deadline's 75% mark is measured from here. */
  startedAt: number;
  deadlineAt: number | null;
  /** Clocks of the phases that have started and not finished. */
  clocks: readonly PhaseClock[];
  phaseLimitMs: number | null;
  warned: LimitMarks;
  reached: LimitMarks;
}

export type LimitEvent =
  | { kind: 'task-warning'; key: number; message: string }
  | { kind: 'phase-warning'; phase: number; key: number; message: string }
  | { kind: 'task-limit'; key: number; message: string }
  | { kind: 'phase-limit'; phase: number; key: number; message: string };

/** When the task warning is due (75% of the time from start to deadline), epoch ms. */
export function taskWarningAt(startedAt: number, deadlineAt: number): number {
  return startedAt + Math.floor((deadlineAt - startedAt) * LIMIT_WARNING_SHARE);
}

export function phaseLimitOf(clock: PhaseClock, phaseLimitMs: number | null): number | null {
  return phaseLimitMs === null ? null : phaseLimitMs + clock.extraMs;
}

const pct = Math.round(LIMIT_WARNING_SHARE * 100);

/** What is due now and not acted on yet, most severe first: reached limits, then warnings. Pure. */
export function limitEventsDue(v: LimitsView, fmt: (ms: number) => string): LimitEvent[] {
  const limits: LimitEvent[] = [];
  const warnings: LimitEvent[] = [];
  const deadline = v.deadlineAt;
  if (deadline !== null && v.reached.task !== deadline) {
    if (v.now >= deadline) {
      limits.push({
        kind: 'task-limit',
        key: deadline,
        message: `deadline reached (${new Date(deadline).toISOString()})`,
      });
    } else if (v.warned.task !== deadline && v.now >= taskWarningAt(v.startedAt, deadline)) {
      warnings.push({
        kind: 'task-warning',
        key: deadline,
        message: `${pct}% of the task's time used: deadline in ${fmt(deadline - v.now)} (${new Date(deadline).toISOString()})`,
      });
    }
  }
  for (const clock of v.clocks) {
    const limit = phaseLimitOf(clock, v.phaseLimitMs);
    if (limit === null || v.reached.phases[clock.index] === limit) continue;
    const used = phaseUsedMs(clock, v.now);
    const name = `phase ${clock.index + 1}`;
    if (used >= limit) {
      limits.push({
        kind: 'phase-limit',
        phase: clock.index,
        key: limit,
        message: `${name} used its ${fmt(limit)} limit`,
      });
    } else if (v.warned.phases[clock.index] !== limit && used >= limit * LIMIT_WARNING_SHARE) {
      warnings.push({
        kind: 'phase-warning',
        phase: clock.index,
        key: limit,
        message: `${pct}% of ${name}'s ${fmt(limit)} limit used: ${fmt(limit - used)} left`,
      });
    }
  }
  return [...limits, ...warnings];
}

/**
 * The next moment (epoch ms) something may become due, or null if nothing can while nothing changes
 * (no deadline and every phase clock stopped). Pure.
 */
export function nextLimitCheckAt(v: LimitsView): number | null {
  const candidates: number[] = [];
  const deadline = v.deadlineAt;
  if (deadline !== null && v.reached.task !== deadline) {
    candidates.push(deadline);
    if (v.warned.task !== deadline) candidates.push(taskWarningAt(v.startedAt, deadline));
  }
  for (const clock of v.clocks) {
    const limit = phaseLimitOf(clock, v.phaseLimitMs);
    if (limit === null || clock.runningSince === null || v.reached.phases[clock.index] === limit) continue;
    const used = phaseUsedMs(clock, v.now);
    candidates.push(v.now + (limit - used));
    if (v.warned.phases[clock.index] !== limit) candidates.push(v.now + (limit * LIMIT_WARNING_SHARE - used));
  }
  if (candidates.length === 0) return null;
  return Math.max(v.now, Math.min(...candidates));
}

/** Whether a limit is reached right now (a paused-at-limit task must be extended before it resumes). */
export function limitReached(v: LimitsView): string | null {
  if (v.deadlineAt !== null && v.now >= v.deadlineAt) return 'the deadline has passed';
  for (const clock of v.clocks) {
    const limit = phaseLimitOf(clock, v.phaseLimitMs);
    if (limit !== null && phaseUsedMs(clock, v.now) >= limit)
      return `phase ${clock.index + 1} used its limit`;
  }
  return null;
}

export type IdleLevel = 'active' | 'warning' | 'pause';

/** How idle a step is: no progress for `warnMs` → warning, for `pauseMs` → pause. Pure. */
export function idleLevel(lastProgressAt: number, now: number, warnMs: number, pauseMs: number): IdleLevel {
  const idle = now - lastProgressAt;
  if (idle >= pauseMs) return 'pause';
  if (idle >= warnMs) return 'warning';
  return 'active';
}
