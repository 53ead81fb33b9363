/**
 * Task lifecycle: the states, the valid transitions between them, and a record of where a
 * task has been, with total and active (paused time excluded) durations. Pure; the workflow calls it.
 */
export const LIFECYCLE_STATES = [
  'created',
  'planning',
  'executing',
  'paused',
  'checkpointing',
  'resuming',
  'completing',
  'completed',
  'failed',
  'cancelled',
] as const;
export type LifecycleState = (typeof LIFECYCLE_STATES)[number];

export const VALID_TRANSITIONS: Readonly<Record<LifecycleState, readonly LifecycleState[]>> = {
  created: ['planning', 'cancelled'],
  planning: ['executing', 'failed', 'cancelled'],
  executing: ['paused', 'checkpointing', 'completing', 'failed', 'cancelled'],
  paused: ['resuming', 'cancelled'],
  checkpointing: ['executing', 'paused', 'failed'],
  resuming: ['executing', 'paused', 'completing', 'failed', 'cancelled'],
  completing: ['completed', 'failed'],
  completed: [],
  failed: ['resuming'],
  cancelled: [],
};

export function canTransition(from: LifecycleState, to: LifecycleState): boolean {
  return VALID_TRANSITIONS[from].includes(to);
}

/** States in which a task has stopped running: it ended (a failed task may still be retried). */
export const ENDED_STATES: readonly LifecycleState[] = ['completed', 'failed', 'cancelled'];

export function hasEnded(state: LifecycleState): boolean {
  return ENDED_STATES.includes(state);
}

/** Ended, or `completing` (its last work is done and it is writing its result): no request is accepted. */
export function isFinishing(state: LifecycleState): boolean {
  return state === 'completing' || hasEnded(state);
}

/** No transition leaves these states (a failed task can still be resumed, see `VALID_TRANSITIONS`). */
export function isFinal(state: LifecycleState): boolean {
  return VALID_TRANSITIONS[state].length === 0;
}

/** Thrown by `transition` for a move the lifecycle does not allow (a bug in the engine, never a user request). */
export class LifecycleTransitionError extends Error {
  override readonly name = 'LifecycleTransitionError';
  constructor(
    readonly from: LifecycleState,
    readonly to: LifecycleState,
    readonly trigger: string
  ) {
    super(
      `invalid transition from ${from} to ${to} (${trigger}); allowed from ${from}: ${VALID_TRANSITIONS[from].join(', ') || 'none'}`
    );
  }
}

export interface Transition {
  from: LifecycleState;
  to: LifecycleState;
  /** What caused it, e.g. "plan ready", "pause requested", "step analyze failed". */
  trigger: string;
  /** Epoch ms (workflow time). */
  at: number;
}

export interface LifecycleRecord {
  state: LifecycleState;
  createdAt: number;
  /** When the current state was entered. */
  since: number;
  /** Time spent paused before the current state, ms. */
  pausedMs: number;
  /** The latest transitions, oldest first (bounded by `TRANSITION_LOG_LIMIT`). */
  transitions: Transition[];
  /** All transitions ever made, including those dropped from the log. */
  transitionCount: number;
  /** When the task reached a final state, else null. */
  endedAt: number | null;
}

export const TRANSITION_LOG_LIMIT = 50;

export function newLifecycle(at: number): LifecycleRecord {
  return {
    state: 'created',
    createdAt: at,
    since: at,
    pausedMs: 0,
    transitions: [],
    transitionCount: 0,
    endedAt: null,
  };
}

/** The record after moving to `to`; throws `LifecycleTransitionError` if the move is not allowed. */
export function transition(
  record: LifecycleRecord,
  to: LifecycleState,
  trigger: string,
  at: number
): LifecycleRecord {
  if (!canTransition(record.state, to)) throw new LifecycleTransitionError(record.state, to, trigger);
  const pausedMs = record.pausedMs + (record.state === 'paused' ? Math.max(0, at - record.since) : 0);
  const transitions = [...record.transitions, { from: record.state, to, trigger, at }].slice(
    -TRANSITION_LOG_LIMIT
  );
  const final = hasEnded(to);
  return {
    ...record,
    state: to,
    since: at,
    pausedMs,
    transitions,
    transitionCount: record.transitionCount + 1,
    endedAt: final ? at : null,
  };
}

export interface Durations {
  /** From creation to now (or to the end). */
  totalMs: number;
  /** Total minus time spent paused. */
  activeMs: number;
  pausedMs: number;
}

export function durations(record: LifecycleRecord, now: number): Durations {
  const end = record.endedAt ?? now;
  const pausedMs = record.pausedMs + (record.state === 'paused' ? Math.max(0, now - record.since) : 0);
  const totalMs = Math.max(0, end - record.createdAt);
  return { totalMs, pausedMs, activeMs: Math.max(0, totalMs - pausedMs) };
}
