/**
 * Time limits of a task (seed 001): the task's deadline, each phase's working-time limit, their 75%
 * warnings, and idle detection. Pure functions of times the workflow keeps; the workflow sets one timer
 * for the next moment any of them is due.
 */
import { LIMIT_WARNING_SHARE } from './spec';

/**
 * The working time of the current phase: it runs while the phase's steps work and stops while the
 * task is paused or a `longrun.wait` timer runs. Carried across continue-as-new.
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

/** Which warnings were already given, keyed by the limit they warned about (so an extension re-arms them). */
export interface LimitWarnings {
  /** The deadline (epoch ms) a 75% warning was given for. */
  task?: number;
  /** `<phase index>:<phase limit incl. extensions>` a 75% warning was given for. */
  phase?: string;
}

export interface LimitView {
  now: number;
  /** When the task started (workflow time): the deadline's 75% mark is measured from here. */
  startedAt: number;
  /** null: no deadline (a task started before limits existed). */
  deadlineAt: number | null;
  phase: PhaseClock;
  phaseLimitMs: number;
  warned: LimitWarnings;
}

export type LimitEvent =
  | { kind: 'task-warning'; key: number; message: string }
  | { kind: 'phase-warning'; key: string; message: string }
  | { kind: 'task-limit'; message: string }
  | { kind: 'phase-limit'; message: string };

function phaseKey(v: LimitView): string {
  return `${v.phase.index}:${v.phaseLimitMs + v.phase.extraMs}`;
}

/** When the task warning is due (75% of the time from start to deadline), epoch ms. */
export function taskWarningAt(startedAt: number, deadlineAt: number): number {
  return startedAt + Math.floor((deadlineAt - startedAt) * LIMIT_WARNING_SHARE);
}

/** What is due now, most severe first: a reached limit, then warnings not given yet. Pure. */
export function dueLimitEvents(v: LimitView, fmt: (ms: number) => string): LimitEvent[] {
  const out: LimitEvent[] = [];
  const phaseLimit = v.phaseLimitMs + v.phase.extraMs;
  const used = phaseUsedMs(v.phase, v.now);
  if (v.deadlineAt !== null && v.now >= v.deadlineAt) {
    out.push({
      kind: 'task-limit',
      message: `deadline reached (${new Date(v.deadlineAt).toISOString()})`,
    });
  }
  if (used >= phaseLimit) {
    out.push({
      kind: 'phase-limit',
      message: `phase ${v.phase.index + 1} used its ${fmt(phaseLimit)} limit`,
    });
  }
  if (out.length > 0) return out;
  if (
    v.deadlineAt !== null &&
    v.warned.task !== v.deadlineAt &&
    v.now >= taskWarningAt(v.startedAt, v.deadlineAt)
  ) {
    out.push({
      kind: 'task-warning',
      key: v.deadlineAt,
      message: `${Math.round(LIMIT_WARNING_SHARE * 100)}% of the task's time used: deadline in ${fmt(v.deadlineAt - v.now)} (${new Date(v.deadlineAt).toISOString()})`,
    });
  }
  const key = phaseKey(v);
  if (v.warned.phase !== key && used >= phaseLimit * LIMIT_WARNING_SHARE) {
    out.push({
      kind: 'phase-warning',
      key,
      message: `${Math.round(LIMIT_WARNING_SHARE * 100)}% of phase ${v.phase.index + 1}'s ${fmt(phaseLimit)} limit used: ${fmt(phaseLimit - used)} left`,
    });
  }
  return out;
}

/**
 * The next moment (epoch ms) something may become due, or null if nothing can while nothing changes
 * (no deadline and the phase clock stopped). Pure.
 */
export function nextLimitCheckAt(v: LimitView): number | null {
  const candidates: number[] = [];
  if (v.deadlineAt !== null) {
    candidates.push(v.deadlineAt);
    if (v.warned.task !== v.deadlineAt) candidates.push(taskWarningAt(v.startedAt, v.deadlineAt));
  }
  if (v.phase.runningSince !== null) {
    const limit = v.phaseLimitMs + v.phase.extraMs;
    const left = limit - phaseUsedMs(v.phase, v.now);
    candidates.push(v.now + left);
    if (v.warned.phase !== phaseKey(v)) {
      candidates.push(v.now + (limit * LIMIT_WARNING_SHARE - phaseUsedMs(v.phase, v.now)));
    }
  }
  const future = candidates.filter((t) => t > v.now);
  if (future.length === 0) return candidates.length > 0 ? v.now : null;
  return Math.min(...future);
}

export type IdleLevel = 'active' | 'warning' | 'pause';

/** How idle a step is: no progress for `warnMs` → warning, for `pauseMs` → pause. Pure. */
export function idleLevel(lastProgressAt: number, now: number, warnMs: number, pauseMs: number): IdleLevel {
  const idle = now - lastProgressAt;
  if (idle >= pauseMs) return 'pause';
  if (idle >= warnMs) return 'warning';
  return 'active';
}
