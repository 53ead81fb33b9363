/**
 * Circuit breakers for external services, one per service name and shared by every step running in
 * this worker process: when an LLM endpoint goes down, the first few calls fail and open its
 * circuit, and every task's next call fails fast with a `CircuitOpenError` whose `retryAfterMs`
 * makes Temporal wait until the trial call instead of hammering the service.
 *
 * @example
 * ```ts
 * const answer = await breakerFor(`llm:${host}`).run(() => fetchCompletion(prompt), { signal });
 * ```
 */
import { kindOf, TransientError } from './errors';
import {
  admitCall,
  breakerAt,
  closedBreaker,
  openUntil,
  DEFAULT_BREAKER_SETTINGS,
  recordOutcome,
  snapshotOf,
  type BreakerSettings,
  type BreakerSnapshot,
  type BreakerState,
  type CallOutcome,
} from '../shared/circuit-breaker';

/**
 * Thrown by `CircuitBreaker.run` when the service's circuit is open (or its half-open trial is in
 * flight): the call was not made. Transient, so the step is retried after `retryAfterMs`.
 */
export class CircuitOpenError extends TransientError {
  override readonly name: string = 'CircuitOpenError';
  readonly breaker: string;
  /** Why it is open: too many failures, or a quota known to reset at a time (`holdOpenFor`). */
  readonly reason: 'failures' | 'quota';
  constructor(breaker: string, retryAfterMs: number, reason: 'failures' | 'quota' = 'failures') {
    const why = reason === 'quota' ? ' until its quota resets' : '';
    super(`circuit ${breaker} is open${why}; next try in ${(retryAfterMs / 1000).toFixed(1)} s`, {
      retryAfterMs,
    });
    this.breaker = breaker;
    this.reason = reason;
  }
}

/** A circuit in the health report: its state plus counters since the worker started. */
export interface BreakerStatus extends BreakerSnapshot {
  /** Calls let through. */
  calls: number;
  /** Calls refused without reaching the service. */
  rejected: number;
  /** Times the circuit opened. */
  timesOpened: number;
}

export interface RunOptions {
  /** The caller's signal: a call it aborted says nothing about the service (outcome `neutral`). */
  signal?: AbortSignal;
  /** What a thrown error says about the service. @default breakerOutcomeOf */
  judge?: (err: unknown) => CallOutcome;
}

/**
 * What an error says about the service: transient and resource failures (5xx, 429, timeouts,
 * connection errors) are failures; anything else (a 400 or 401 refusal, a bug) means it answered.
 */
export function breakerOutcomeOf(err: unknown): CallOutcome {
  if (err instanceof CircuitOpenError) return 'neutral'; // an inner circuit: the call never left
  const kind = kindOf(err);
  return kind === 'transient' || kind === 'resource' ? 'failure' : 'success';
}

export type BreakerTransition = (name: string, from: BreakerSnapshot, to: BreakerSnapshot) => void;

/** One service's circuit; get it from a `BreakerRegistry` (`breakerFor`) so all tasks share it. */
export class CircuitBreaker {
  private state: BreakerState = closedBreaker();
  private calls = 0;
  private rejected = 0;
  private timesOpened = 0;
  /** Until when the circuit is held open for a quota (`holdOpenFor`), epoch ms. */
  private quotaUntil = 0;

  constructor(
    readonly name: string,
    private readonly settings: () => BreakerSettings,
    private readonly now: () => number,
    private readonly onTransition?: BreakerTransition
  ) {}

  /** Runs `call` if the circuit lets it through and records what its result says about the service. */
  async run<T>(call: () => Promise<T>, opts: RunOptions = {}): Promise<T> {
    const admission = admitCall(this.state, this.settings(), this.now());
    this.state = admission.state;
    if (!admission.admitted) {
      this.rejected++;
      const reason = this.now() < this.quotaUntil ? 'quota' : 'failures';
      throw new CircuitOpenError(this.name, admission.retryAfterMs, reason);
    }
    this.calls++;
    try {
      const result = await call();
      this.record('success');
      return result;
    } catch (err) {
      this.record(opts.signal?.aborted ? 'neutral' : (opts.judge ?? breakerOutcomeOf)(err));
      throw err;
    }
  }

  /** Records the outcome of a call made outside `run` (it must have been admitted). */
  record(outcome: CallOutcome): void {
    const now = this.now();
    const before = breakerAt(this.state, now);
    this.state = recordOutcome(before, outcome, this.settings(), now);
    if (before.state !== this.state.state) {
      if (this.state.state === 'open') this.timesOpened++;
      this.onTransition?.(
        this.name,
        snapshotOf(this.name, before, now),
        snapshotOf(this.name, this.state, now)
      );
    }
  }

  /** Holds the circuit open for `ms` (a quota known to reset then), then lets one trial call through. */
  holdOpenFor(ms: number): void {
    const now = this.now();
    const before = breakerAt(this.state, now);
    this.state = openUntil(before, now + ms, now);
    this.quotaUntil = Math.max(this.quotaUntil, now + ms);
    if (before.state !== 'open' && this.state.state === 'open') {
      this.timesOpened++;
      this.onTransition?.(
        this.name,
        snapshotOf(this.name, before, now),
        snapshotOf(this.name, this.state, now)
      );
    }
  }

  status(): BreakerStatus {
    return {
      ...snapshotOf(this.name, this.state, this.now()),
      calls: this.calls,
      rejected: this.rejected,
      timesOpened: this.timesOpened,
    };
  }
}

export interface BreakerRegistryOptions {
  /** @default DEFAULT_BREAKER_SETTINGS (5 failures, 60 s) */
  settings?: Partial<BreakerSettings>;
  /** The clock, epoch ms. @default Date.now */
  now?: () => number;
  /** Called when a circuit opens or closes; null: silent. @default a console.warn line */
  onTransition?: BreakerTransition | null;
}

/** The circuits of one process, by service name, with shared settings and clock. */
export class BreakerRegistry {
  private readonly breakers = new Map<string, CircuitBreaker>();
  private settings: BreakerSettings;
  private readonly now: () => number;
  private readonly onTransition: BreakerTransition | undefined;

  constructor(opts: BreakerRegistryOptions = {}) {
    this.settings = { ...DEFAULT_BREAKER_SETTINGS, ...opts.settings };
    this.now = opts.now ?? Date.now;
    this.onTransition = opts.onTransition === null ? undefined : (opts.onTransition ?? logTransition);
  }

  /** Changes the threshold and recovery timeout of every circuit, existing ones included. */
  configure(settings: Partial<BreakerSettings>): void {
    this.settings = { ...this.settings, ...settings };
  }

  /** The circuit of service `name`, created closed on first use. */
  breakerFor(name: string): CircuitBreaker {
    let breaker = this.breakers.get(name);
    if (!breaker) {
      breaker = new CircuitBreaker(name, () => this.settings, this.now, this.onTransition);
      this.breakers.set(name, breaker);
    }
    return breaker;
  }

  /** Every circuit's status, by name. */
  states(): BreakerStatus[] {
    return [...this.breakers.values()].map((b) => b.status()).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Forgets every circuit (tests). */
  clear(): void {
    this.breakers.clear();
  }
}

function logTransition(name: string, from: BreakerSnapshot, to: BreakerSnapshot): void {
  const detail =
    to.state === 'open'
      ? `after ${to.failures} consecutive failures; trial call in ${Math.round(to.remainingMs / 1000)} s`
      : `(was ${from.state})`;
  console.warn(`longrun: circuit ${name} is ${to.state} ${detail}`);
}

/** The circuits of this worker process, shared by every task it runs. */
export const processBreakers = new BreakerRegistry();

/** The process-wide circuit of service `name` (e.g. `llm:api.openai.com`). */
export function breakerFor(name: string): CircuitBreaker {
  return processBreakers.breakerFor(name);
}

/** The status of every process-wide circuit. */
export function breakerStates(): BreakerStatus[] {
  return processBreakers.states();
}

/** Sets the threshold and recovery timeout of the process-wide circuits (the worker does, from config). */
export function configureBreakers(settings: Partial<BreakerSettings>): void {
  processBreakers.configure(settings);
}
