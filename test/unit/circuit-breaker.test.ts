/**
 * The circuit breaker state machine (pure, with the time passed in) and the process registry on an
 * injected clock: every transition, fail-fast delays, the single half-open trial, what counts.
 */
import { PermanentError, TransientError } from '../../src/activities/errors';
import { BreakerRegistry, breakerOutcomeOf, CircuitOpenError } from '../../src/activities/circuit-breakers';
import {
  admitCall,
  breakerAt,
  closedBreaker,
  openUntil,
  DEFAULT_BREAKER_SETTINGS,
  HALF_OPEN_RETRY_MS,
  recordOutcome,
  snapshotOf,
  type BreakerSettings,
  type BreakerState,
  type CallOutcome,
} from '../../src/shared/circuit-breaker';
import { toStepFailure } from '../../src/activities/errors';
import { loadConfig } from '../../src/runtime/config';

const settings: BreakerSettings = { failureThreshold: 3, recoveryTimeoutMs: 10_000 };

/** Applies outcomes one after another at time `at`. */
function after(outcomes: CallOutcome[], state: BreakerState = closedBreaker(), at = 0): BreakerState {
  return outcomes.reduce((s, o) => recordOutcome(s, o, settings, at), state);
}

describe('circuit breaker state machine', () => {
  it('defaults to 5 consecutive failures and a 60 s recovery timeout', () => {
    expect(DEFAULT_BREAKER_SETTINGS).toEqual({ failureThreshold: 5, recoveryTimeoutMs: 60_000 });
  });

  it('stays closed below the threshold and counts consecutive failures', () => {
    expect(after(['failure', 'failure'])).toEqual({ state: 'closed', failures: 2 });
    expect(admitCall(after(['failure', 'failure']), settings, 0)).toMatchObject({
      admitted: true,
      trial: false,
    });
  });

  it('resets the count on a success, so only consecutive failures open it', () => {
    expect(after(['failure', 'failure', 'success', 'failure', 'failure'])).toEqual({
      state: 'closed',
      failures: 2,
    });
  });

  it('opens at the threshold, with the recovery period starting now', () => {
    expect(after(['failure', 'failure', 'failure'], closedBreaker(), 1_000)).toEqual({
      state: 'open',
      failures: 3,
      openedAt: 1_000,
      halfOpenAt: 11_000,
    });
  });

  it('fails fast while open, asking to come back when the circuit turns half-open', () => {
    const open = after(['failure', 'failure', 'failure'], closedBreaker(), 1_000);
    expect(admitCall(open, settings, 1_000)).toEqual({ admitted: false, state: open, retryAfterMs: 10_000 });
    expect(admitCall(open, settings, 7_500)).toEqual({ admitted: false, state: open, retryAfterMs: 3_500 });
    expect(admitCall(open, settings, 10_999)).toMatchObject({ admitted: false, retryAfterMs: 1 });
  });

  it('ignores late answers while open: the recovery period is neither extended nor cut short', () => {
    const open = after(['failure', 'failure', 'failure'], closedBreaker(), 0);
    expect(recordOutcome(open, 'failure', settings, 5_000)).toEqual(open);
    expect(recordOutcome(open, 'success', settings, 5_000)).toEqual(open);
    expect(recordOutcome(open, 'neutral', settings, 5_000)).toEqual(open);
  });

  it('turns half-open once the recovery timeout has passed', () => {
    const open = after(['failure', 'failure', 'failure'], closedBreaker(), 0);
    expect(breakerAt(open, 9_999).state).toBe('open');
    expect(breakerAt(open, 10_000)).toEqual({ state: 'half-open', failures: 3, trialStartedAt: null });
  });

  it('lets exactly one trial call through when half-open; the others fail fast for a short while', () => {
    const open = after(['failure', 'failure', 'failure'], closedBreaker(), 0);
    const first = admitCall(open, settings, 10_000);
    expect(first).toEqual({
      admitted: true,
      trial: true,
      state: { state: 'half-open', failures: 3, trialStartedAt: 10_000 },
    });
    const second = admitCall(first.state, settings, 10_200);
    expect(second).toEqual({ admitted: false, state: first.state, retryAfterMs: HALF_OPEN_RETRY_MS });
  });

  it('never asks half-open callers to wait longer than the recovery timeout', () => {
    const quick = { failureThreshold: 1, recoveryTimeoutMs: 300 };
    const open = recordOutcome(closedBreaker(), 'failure', quick, 0);
    const trial = admitCall(open, quick, 300);
    expect(admitCall(trial.state, quick, 400)).toMatchObject({ admitted: false, retryAfterMs: 300 });
  });

  it('closes when the trial succeeds', () => {
    const open = after(['failure', 'failure', 'failure'], closedBreaker(), 0);
    const trial = admitCall(open, settings, 10_000);
    expect(recordOutcome(trial.state, 'success', settings, 10_500)).toEqual(closedBreaker());
  });

  it('re-opens for another whole recovery period when the trial fails', () => {
    const open = after(['failure', 'failure', 'failure'], closedBreaker(), 0);
    const trial = admitCall(open, settings, 10_000);
    const reopened = recordOutcome(trial.state, 'failure', settings, 10_500);
    expect(reopened).toEqual({ state: 'open', failures: 4, openedAt: 10_500, halfOpenAt: 20_500 });
    expect(admitCall(reopened, settings, 12_000)).toMatchObject({ admitted: false, retryAfterMs: 8_500 });
  });

  it('frees the trial slot when the trial call was abandoned by its caller', () => {
    const open = after(['failure', 'failure', 'failure'], closedBreaker(), 0);
    const trial = admitCall(open, settings, 10_000);
    const freed = recordOutcome(trial.state, 'neutral', settings, 10_100);
    expect(freed).toEqual({ state: 'half-open', failures: 3, trialStartedAt: null });
    expect(admitCall(freed, settings, 10_200)).toMatchObject({ admitted: true, trial: true });
  });

  it('lets another trial through when the first has not reported for a whole recovery period', () => {
    const open = after(['failure', 'failure', 'failure'], closedBreaker(), 0);
    const trial = admitCall(open, settings, 10_000);
    expect(admitCall(trial.state, settings, 19_999).admitted).toBe(false);
    expect(admitCall(trial.state, settings, 20_000)).toMatchObject({ admitted: true, trial: true });
  });

  it('changes nothing on a neutral outcome while closed', () => {
    expect(after(['failure', 'neutral', 'neutral'])).toEqual({ state: 'closed', failures: 1 });
  });

  it('describes each state for the health report', () => {
    const open = after(['failure', 'failure', 'failure'], closedBreaker(), 1_000);
    expect(snapshotOf('llm:a', open, 4_000)).toEqual({
      name: 'llm:a',
      state: 'open',
      failures: 3,
      openedAt: 1_000,
      halfOpenAt: 11_000,
      remainingMs: 7_000,
      trialInFlight: false,
    });
    expect(snapshotOf('llm:a', open, 11_000)).toMatchObject({ state: 'half-open', remainingMs: 0 });
    const trial = admitCall(open, settings, 11_000).state;
    expect(snapshotOf('llm:a', trial, 11_001)).toMatchObject({ state: 'half-open', trialInFlight: true });
    expect(snapshotOf('llm:a', closedBreaker(), 0)).toEqual({
      name: 'llm:a',
      state: 'closed',
      failures: 0,
      openedAt: null,
      halfOpenAt: null,
      remainingMs: 0,
      trialInFlight: false,
    });
  });
});

describe('what counts as a failure of the service', () => {
  it('counts transient and resource-class errors: 5xx, 429, timeouts, connection errors', () => {
    expect(breakerOutcomeOf(new TransientError('503'))).toBe('failure');
    expect(breakerOutcomeOf(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }))).toBe('failure');
    expect(breakerOutcomeOf(Object.assign(new Error('bad gateway'), { status: 502 }))).toBe('failure');
    expect(breakerOutcomeOf(Object.assign(new Error('slow down'), { status: 429 }))).toBe('failure');
    expect(breakerOutcomeOf(new Error('request timed out'))).toBe('failure');
  });

  it('does not count a client error such as 400 or 401: the service is up', () => {
    expect(breakerOutcomeOf(new PermanentError('401 invalid api key'))).toBe('success');
    expect(breakerOutcomeOf(Object.assign(new Error('bad request'), { status: 400 }))).toBe('success');
  });
});

describe('breaker registry', () => {
  let now = 0;
  const clock = () => now;
  const failing = () => Promise.reject(new TransientError('503 from upstream'));
  const ok = () => Promise.resolve('ok');
  const reject = (p: Promise<unknown>) =>
    p.then(
      () => null,
      (e: unknown) => e
    );

  beforeEach(() => {
    now = 0;
  });

  it('shares one circuit per service name', () => {
    const registry = new BreakerRegistry({ settings, now: clock, onTransition: null });
    expect(registry.breakerFor('llm:a')).toBe(registry.breakerFor('llm:a'));
    expect(registry.breakerFor('llm:a')).not.toBe(registry.breakerFor('llm:b'));
  });

  it('fails fast with a transient CircuitOpenError carrying the time left, without making the call', async () => {
    const registry = new BreakerRegistry({ settings, now: clock, onTransition: null });
    const breaker = registry.breakerFor('llm:a');
    for (let i = 0; i < 3; i++) expect(await reject(breaker.run(failing))).toBeInstanceOf(TransientError);
    now = 4_000;
    let called = false;
    const err = await reject(
      breaker.run(() => {
        called = true;
        return ok();
      })
    );
    expect(called).toBe(false);
    expect(err).toBeInstanceOf(CircuitOpenError);
    expect(err).toBeInstanceOf(TransientError);
    expect(err).toMatchObject({ breaker: 'llm:a', retryAfterMs: 6_000 });
    // The step failure Temporal sees waits exactly that long before the next attempt.
    expect(toStepFailure(err, 'summarize', 4).nextRetryDelay).toBe(6_000);
  });

  it('closes again after a successful trial and reports counters', async () => {
    const transitions: string[] = [];
    const registry = new BreakerRegistry({
      settings,
      now: clock,
      onTransition: (name, from, to) => transitions.push(`${name}: ${from.state} -> ${to.state}`),
    });
    const breaker = registry.breakerFor('llm:a');
    for (let i = 0; i < 3; i++) await reject(breaker.run(failing));
    await reject(breaker.run(ok));
    now = 10_000;
    expect(await breaker.run(ok)).toBe('ok');
    expect(registry.states()).toEqual([
      expect.objectContaining({
        name: 'llm:a',
        state: 'closed',
        failures: 0,
        calls: 4,
        rejected: 1,
        timesOpened: 1,
      }),
    ]);
    expect(transitions).toEqual(['llm:a: closed -> open', 'llm:a: half-open -> closed']);
  });

  it('does not count a call its caller aborted, and frees the half-open trial slot', async () => {
    const registry = new BreakerRegistry({ settings, now: clock, onTransition: null });
    const breaker = registry.breakerFor('llm:a');
    for (let i = 0; i < 3; i++) await reject(breaker.run(failing));
    now = 10_000;
    const controller = new AbortController();
    controller.abort();
    await reject(breaker.run(failing, { signal: controller.signal }));
    expect(breaker.status()).toMatchObject({ state: 'half-open', trialInFlight: false, failures: 3 });
  });

  it('applies new settings to existing circuits', async () => {
    const registry = new BreakerRegistry({ settings, now: clock, onTransition: null });
    const breaker = registry.breakerFor('llm:a');
    registry.configure({ failureThreshold: 1 });
    await reject(breaker.run(failing));
    expect(breaker.status()).toMatchObject({ state: 'open', remainingMs: 10_000 });
  });

  it('uses a judge to decide what an error says about the service', async () => {
    const registry = new BreakerRegistry({ settings, now: clock, onTransition: null });
    const breaker = registry.breakerFor('llm:a');
    for (let i = 0; i < 5; i++) await reject(breaker.run(failing, { judge: () => 'success' }));
    expect(breaker.status()).toMatchObject({ state: 'closed', failures: 0, calls: 5 });
  });
});

describe('breaker and LLM configuration', () => {
  it('defaults to 5 failures, 60 s, no LLM and no health server', () => {
    const config = loadConfig({}, '/w');
    expect(config.breaker).toEqual({ failureThreshold: 5, recoveryTimeoutMs: 60_000 });
    expect(config.llm).toBeUndefined();
    expect(config.health).toBeUndefined();
  });

  it('reads the breaker, LLM and health variables', () => {
    const config = loadConfig(
      {
        LONGRUN_BREAKER_THRESHOLD: '3',
        LONGRUN_BREAKER_RECOVERY_MS: '2000',
        LONGRUN_LLM_BASE_URL: 'http://127.0.0.1:8000/v1',
        LONGRUN_LLM_API_KEY: 'sk-x',
        LONGRUN_LLM_MODEL: 'small',
        LONGRUN_HEALTH_PORT: '9464',
      },
      '/w'
    );
    expect(config.breaker).toEqual({ failureThreshold: 3, recoveryTimeoutMs: 2_000 });
    expect(config.llm).toEqual({
      baseUrl: 'http://127.0.0.1:8000/v1',
      apiKey: 'sk-x',
      model: 'small',
      timeoutMs: 60_000,
      prices: {},
    });
    expect(config.health).toEqual({ port: 9464, host: '127.0.0.1' });
  });

  it('refuses bad values with an error naming the variable', () => {
    expect(() => loadConfig({ LONGRUN_BREAKER_THRESHOLD: '0' }, '/w')).toThrow(
      /LONGRUN_BREAKER_THRESHOLD="0": /
    );
    expect(() => loadConfig({ LONGRUN_BREAKER_RECOVERY_MS: 'soon' }, '/w')).toThrow(
      /LONGRUN_BREAKER_RECOVERY_MS="soon": /
    );
    expect(() => loadConfig({ LONGRUN_LLM_BASE_URL: 'ftp://x', LONGRUN_LLM_MODEL: 'm' }, '/w')).toThrow(
      /LONGRUN_LLM_BASE_URL="ftp:\/\/x": must be an http\(s\) URL/
    );
    expect(() => loadConfig({ LONGRUN_LLM_BASE_URL: 'http://x/v1' }, '/w')).toThrow(
      'LONGRUN_LLM_MODEL=(unset): must be set when LONGRUN_LLM_BASE_URL is'
    );
    expect(() => loadConfig({ LONGRUN_HEALTH_PORT: '70000' }, '/w')).toThrow(/LONGRUN_HEALTH_PORT="70000": /);
  });

  it('reads the price table as JSON and names the field of a bad price', () => {
    const llm = { LONGRUN_LLM_BASE_URL: 'http://x/v1', LONGRUN_LLM_MODEL: 'm' };
    const prices = {
      'gpt-4o-mini': { input: 0.15, output: 0.6, cachedInput: 0.075 },
      'claude-*': { input: 3, output: 15 },
    };
    expect(loadConfig({ ...llm, LONGRUN_LLM_PRICES: JSON.stringify(prices) }, '/w').llm?.prices).toEqual(
      prices
    );
    expect(() => loadConfig({ ...llm, LONGRUN_LLM_PRICES: '{gpt' }, '/w')).toThrow(
      /LONGRUN_LLM_PRICES="\{gpt": must be JSON/
    );
    expect(() =>
      loadConfig({ ...llm, LONGRUN_LLM_PRICES: '{"m": {"input": -1, "output": 1}}' }, '/w')
    ).toThrow(/LONGRUN_LLM_PRICES.*m\.input/);
  });
});

describe('a circuit held open until a quota resets', () => {
  it('refuses calls until the reset, then lets one trial through', async () => {
    let now = 1_000_000;
    const breakers = new BreakerRegistry({ now: () => now, onTransition: null });
    const breaker = breakers.breakerFor('llm:pool');
    breaker.holdOpenFor(30_000);
    expect(breaker.status()).toMatchObject({ state: 'open', timesOpened: 1 });
    now += 29_000;
    await expect(breaker.run(() => Promise.resolve(1))).rejects.toBeInstanceOf(CircuitOpenError);
    now += 1_000;
    await expect(breaker.run(() => Promise.resolve(1))).resolves.toBe(1);
    expect(breaker.status()).toMatchObject({ state: 'closed', rejected: 1 });
    now -= 1_000;
    expect(
      admitCall(openUntil(closedBreaker(), now + 1_000, now), DEFAULT_BREAKER_SETTINGS, now)
    ).toMatchObject({
      admitted: false,
      retryAfterMs: 1_000,
    });
    now += 1_000;
    const trial = admitCall(
      breakerAt(openUntil(closedBreaker(), now, now - 1), now),
      DEFAULT_BREAKER_SETTINGS,
      now
    );
    expect(trial).toMatchObject({ admitted: true, trial: true });
  });

  it('keeps a longer open period it already has', () => {
    const state = openUntil(closedBreaker(), 50_000, 0);
    expect(openUntil(state, 10_000, 1)).toBe(state);
  });
});
