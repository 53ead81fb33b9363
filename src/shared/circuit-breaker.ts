/**
 * The circuit breaker state machine (closed, open, half-open): pure functions over plain JSON state with the time
 * passed in, so every transition is unit-tested without waiting. The worker-side registry
 * (`src/activities/circuit-breakers.ts`) holds one state per external service and the clock.
 *
 * - closed: calls pass; `failureThreshold` consecutive failures open the circuit;
 * - open: calls fail fast until `recoveryTimeoutMs` has passed since it opened;
 * - half-open: one trial call passes (the others fail fast); its success closes the circuit, its
 *   failure opens it again for another recovery period.
 *
 * @example
 * ```ts
 * let state = closedBreaker();
 * const admission = admitCall(state, settings, now);
 * if (!admission.admitted) throw new CircuitOpenError(name, admission.retryAfterMs);
 * state = recordOutcome(admission.state, 'failure', settings, now);
 * ```
 */

export const BREAKER_STATES = ['closed', 'open', 'half-open'] as const;
export type BreakerStateName = (typeof BREAKER_STATES)[number];

export interface BreakerSettings {
  /** Consecutive failures that open a closed circuit. @default 5 */
  failureThreshold: number;
  /** How long an open circuit fails fast before it lets a trial call through, ms. @default 60000 */
  recoveryTimeoutMs: number;
}

export const DEFAULT_BREAKER_SETTINGS: Readonly<BreakerSettings> = {
  failureThreshold: 5,
  recoveryTimeoutMs: 60_000,
};

/**
 * While a half-open trial call is in flight, other callers are asked to come back after this long
 * (at most the recovery timeout): the trial usually settles the question within a second or two.
 */
export const HALF_OPEN_RETRY_MS = 1_000;

/** A circuit's state; `failures` counts consecutive failures (reset by a success). */
export type BreakerState =
  | { state: 'closed'; failures: number }
  | { state: 'open'; failures: number; openedAt: number; halfOpenAt: number }
  | {
      state: 'half-open';
      failures: number;
      /** When the trial call in flight was let through (epoch ms); null: no trial in flight. */
      trialStartedAt: number | null;
    };

/**
 * What a call told about the service:
 * - success: the service answered (a 4xx refusal counts: the service is up);
 * - failure: it did not (5xx, 429, timeout, connection error, malformed answer);
 * - neutral: nothing (the caller gave up); only frees the half-open trial slot.
 */
export type CallOutcome = 'success' | 'failure' | 'neutral';

export type Admission =
  | { admitted: true; state: BreakerState; /** This call is the half-open trial. */ trial: boolean }
  | {
      admitted: false;
      state: BreakerState;
      /** When to try again, ms from now (≥ 1). */ retryAfterMs: number;
    };

export function closedBreaker(): BreakerState {
  return { state: 'closed', failures: 0 };
}

/** The state as of `now`: an open circuit whose recovery timeout has passed is half-open. */
export function breakerAt(state: BreakerState, now: number): BreakerState {
  if (state.state === 'open' && now >= state.halfOpenAt) {
    return { state: 'half-open', failures: state.failures, trialStartedAt: null };
  }
  return state;
}

function open(failures: number, settings: BreakerSettings, now: number): BreakerState {
  return { state: 'open', failures, openedAt: now, halfOpenAt: now + settings.recoveryTimeoutMs };
}

/**
 * Held open until `until` (a quota that resets then): no call goes out before it, one trial after.
 * An open circuit that already waits longer keeps its own time.
 */
export function openUntil(state: BreakerState, until: number, now: number): BreakerState {
  if (state.state === 'open' && state.halfOpenAt >= until) return state;
  return { state: 'open', failures: state.failures, openedAt: now, halfOpenAt: until };
}

/**
 * Whether a call may go out now. A half-open circuit admits one trial; a trial that has not reported
 * for a whole recovery period is presumed lost, and another caller becomes the trial.
 */
export function admitCall(state: BreakerState, settings: BreakerSettings, now: number): Admission {
  const current = breakerAt(state, now);
  switch (current.state) {
    case 'closed':
      return { admitted: true, state: current, trial: false };
    case 'open':
      return { admitted: false, state: current, retryAfterMs: Math.max(1, current.halfOpenAt - now) };
    case 'half-open': {
      const started = current.trialStartedAt;
      if (started === null || now - started >= settings.recoveryTimeoutMs) {
        return { admitted: true, state: { ...current, trialStartedAt: now }, trial: true };
      }
      const wait = Math.min(HALF_OPEN_RETRY_MS, settings.recoveryTimeoutMs);
      return { admitted: false, state: current, retryAfterMs: Math.max(1, wait) };
    }
  }
}

/**
 * The state after a call admitted earlier ended with `outcome`. In half-open any success closes and
 * any failure re-opens (a late answer of a call admitted while closed is evidence too); an open
 * circuit ignores late answers, so it keeps its recovery period.
 */
export function recordOutcome(
  state: BreakerState,
  outcome: CallOutcome,
  settings: BreakerSettings,
  now: number
): BreakerState {
  const current = breakerAt(state, now);
  if (outcome === 'neutral') {
    return current.state === 'half-open' ? { ...current, trialStartedAt: null } : current;
  }
  switch (current.state) {
    case 'closed': {
      if (outcome === 'success') return current.failures === 0 ? current : closedBreaker();
      const failures = current.failures + 1;
      return failures >= settings.failureThreshold
        ? open(failures, settings, now)
        : { state: 'closed', failures };
    }
    case 'open':
      return current;
    case 'half-open':
      return outcome === 'success' ? closedBreaker() : open(current.failures + 1, settings, now);
  }
}

/** A circuit as the health report shows it. */
export interface BreakerSnapshot {
  name: string;
  state: BreakerStateName;
  /** Consecutive failures. */
  failures: number;
  /** When the circuit opened (epoch ms), while open. */
  openedAt: number | null;
  /** When an open circuit lets a trial call through (epoch ms), while open. */
  halfOpenAt: number | null;
  /** ms until `halfOpenAt`; 0 unless open. */
  remainingMs: number;
  /** Whether a half-open trial call is in flight. */
  trialInFlight: boolean;
}

export function snapshotOf(name: string, state: BreakerState, now: number): BreakerSnapshot {
  const current = breakerAt(state, now);
  return {
    name,
    state: current.state,
    failures: current.failures,
    openedAt: current.state === 'open' ? current.openedAt : null,
    halfOpenAt: current.state === 'open' ? current.halfOpenAt : null,
    remainingMs: current.state === 'open' ? Math.max(0, current.halfOpenAt - now) : 0,
    trialInFlight: current.state === 'half-open' && current.trialStartedAt !== null,
  };
}
