/**
 * Engine v1's time limits, frozen with it: one phase clock, a deadline from `timeouts.task` (1 h by
 * default), a phase limit (10 min by default), a warning at 75% and a stop at the limit.
 */
import { LIMIT_WARNING_SHARE, phaseUsedMs, type PhaseClock } from '../../shared/limits';
import { DEFAULT_TOOL_TIMEOUTS_MS, type TaskSpec, type ToolClass } from '../../shared/spec';

const V1_DEFAULTS_MS = {
  task: 60 * 60_000,
  phase: 10 * 60_000,
  idleWarning: 5 * 60_000,
  idlePause: 15 * 60_000,
};

/** The effective limits of a v1 task, ms (spec values over v1's defaults). */
export function legacyLimitsOf(spec: TaskSpec): {
  task: number;
  phase: number;
  idleWarning: number;
  idlePause: number;
  tools: Record<ToolClass, number>;
} {
  const t = spec.timeouts;
  return {
    task: t?.task ?? V1_DEFAULTS_MS.task,
    phase: t?.phase ?? V1_DEFAULTS_MS.phase,
    idleWarning: t?.idleWarning ?? V1_DEFAULTS_MS.idleWarning,
    idlePause: t?.idlePause ?? V1_DEFAULTS_MS.idlePause,
    tools: { ...DEFAULT_TOOL_TIMEOUTS_MS, ...t?.tools },
  };
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
