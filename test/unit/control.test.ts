import {
  controlRejection,
  CONTROL_KINDS,
  extendedDeadline,
  parseControl,
  type ControlView,
} from '../../src/shared/control';
import { parseDuration } from '../../src/shared/duration';
import { LIFECYCLE_STATES } from '../../src/shared/lifecycle';
import { appendActivity, formatActivity } from '../../src/shared/activity-log';

const NOW = Date.parse('2026-11-22T12:00:00Z');
const view = (over: Partial<ControlView> = {}): ControlView => ({
  state: 'executing',
  pausing: false,
  cancelling: false,
  deadline: NOW + 3_600_000,
  phaseLimit: true,
  limitReached: null,
  ...over,
});

describe('parseDuration', () => {
  it.each([
    ['90s', 90_000],
    ['15m', 900_000],
    ['2h', 7_200_000],
    ['1d', 86_400_000],
    ['1h30m', 5_400_000],
    ['500ms', 500],
    ['1.5h', 5_400_000],
    ['2500', 2_500],
    [60_000, 60_000],
  ])('%s is %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', 'soon', '-5m', '0s', '5 minutes', '2h foo', 'h'])('rejects %j', (text) => {
    expect(() => parseDuration(text)).toThrow(/duration/);
  });

  it('refuses a long text before any pattern runs on it (a run of digits made the unit search quadratic)', () => {
    expect(() => parseDuration(`${'1'.repeat(200_000)}x`)).toThrow('(got 200001 characters)');
    expect(() => parseDuration('1'.repeat(41))).toThrow(/characters/);
  });

  it('rejects zero, negative and non-finite numbers', () => {
    expect(() => parseDuration(0)).toThrow(/positive/);
    expect(() => parseDuration(-1)).toThrow(/positive/);
    expect(() => parseDuration(Number.NaN)).toThrow(/positive/);
  });
});

describe('parseControl', () => {
  it('accepts empty pause/resume/cancel requests and reasons', () => {
    expect(parseControl('pause', undefined)).toEqual({ ok: true, value: {} });
    expect(parseControl('cancel', { reason: '  budget  ' })).toEqual({
      ok: true,
      value: { reason: 'budget' },
    });
  });

  it('names the field and the rule', () => {
    expect(parseControl('pause', { reason: 'x'.repeat(501) })).toEqual({
      ok: false,
      message: 'reason: must be at most 500 characters',
    });
    expect(parseControl('pause', { why: 'x' })).toMatchObject({
      ok: false,
      message: expect.stringMatching(/why/),
    });
    expect(parseControl('checkpoint', { label: '  ' })).toEqual({
      ok: false,
      message: 'label: must not be empty',
    });
    expect(parseControl('extend', { by: '-2h' })).toMatchObject({
      ok: false,
      message: expect.stringMatching(/^by: must be a positive duration/),
    });
    expect(parseControl('extend', {})).toMatchObject({
      ok: false,
      message: expect.stringMatching(/^extend: give exactly one of "by"/),
    });
    expect(parseControl('extend', { by: '1h', until: '2026-12-01T00:00:00Z' })).toMatchObject({ ok: false });
    expect(parseControl('extend', { until: 'tomorrow' })).toMatchObject({
      ok: false,
      message: expect.stringMatching(/^until: must be an ISO 8601/),
    });
    expect(parseControl('extend', { by: '400d' })).toMatchObject({
      ok: false,
      message: 'by: must be at most 365 days',
    });
  });
});

describe('controlRejection', () => {
  it('accepts each request in a running task', () => {
    expect(controlRejection('pause', view(), NOW)).toBeNull();
    expect(controlRejection('cancel', view(), NOW)).toBeNull();
    expect(controlRejection('extend', view(), NOW, { by: '1h' })).toBeNull();
    expect(controlRejection('checkpoint', view(), NOW, { label: 'x' })).toBeNull();
  });

  it('refuses to resume a running task and to pause a paused one', () => {
    expect(controlRejection('resume', view(), NOW)).toBe(
      'the task is executing, not paused; only a paused task can be resumed'
    );
    expect(controlRejection('pause', view({ state: 'paused' }), NOW)).toBe('the task is already paused');
    expect(controlRejection('pause', view({ pausing: true }), NOW)).toMatch(/already pausing/);
    expect(controlRejection('resume', view({ state: 'paused' }), NOW)).toBeNull();
    expect(controlRejection('resume', view({ pausing: true }), NOW)).toBeNull(); // withdraws the pause
  });

  it('refuses everything once a task has ended, and steering while it is being cancelled', () => {
    for (const state of ['completed', 'failed', 'cancelled', 'completing'] as const)
      for (const kind of CONTROL_KINDS)
        expect(controlRejection(kind, view({ state }), NOW, { by: '1h', label: 'x' })).toMatch(
          new RegExp(`^the task is ${state}`)
        );
    expect(controlRejection('pause', view({ cancelling: true }), NOW)).toMatch(/being cancelled/);
    expect(controlRejection('cancel', view({ cancelling: true }), NOW)).toMatch(/being cancelled/);
    expect(controlRejection('checkpoint', view({ cancelling: true }), NOW, { label: 'x' })).toBeNull();
  });

  it('answers every kind in every state without throwing', () => {
    for (const state of LIFECYCLE_STATES)
      for (const kind of CONTROL_KINDS) {
        const answer = controlRejection(kind, view({ state }), NOW, { by: '1h', label: 'x' });
        expect(answer === null || typeof answer === 'string').toBe(true);
      }
  });

  it('raises a budget the task has, above what it has used, with or without a time limit', () => {
    const budget = { calls: { used: 4, hard: 4 }, costUsd: { used: 0.5, hard: 1 } };
    const noTime = { deadline: null, phaseLimit: false };
    expect(
      controlRejection('extend', view({ ...noTime, budget }), NOW, { budget: { calls: 10 } })
    ).toBeNull();
    expect(controlRejection('extend', view({ ...noTime, budget }), NOW, { budget: { calls: 4 } })).toBe(
      'budget.calls: must be above the 4 already used'
    );
    expect(controlRejection('extend', view({ ...noTime, budget }), NOW, { budget: { tokens: 9 } })).toBe(
      'budget.tokens: the task has no tokens budget to raise'
    );
    expect(controlRejection('extend', view({ ...noTime, budget: null }), NOW, { budget: { calls: 9 } })).toBe(
      'budget.calls: the task has no calls budget to raise'
    );
    expect(
      controlRejection('extend', view({ ...noTime, budget }), NOW, { budget: { calls: 10 }, by: '1h' })
    ).toBe('the task has no time limit to extend');
    expect(parseControl('extend', { budget: {} })).toMatchObject({ ok: false });
    expect(parseControl('extend', { budget: { costUsd: -2 } })).toMatchObject({ ok: false });
  });

  it('refuses to extend a task without a time limit, "until" without a deadline, or to an earlier time', () => {
    expect(controlRejection('extend', view({ deadline: null, phaseLimit: false }), NOW, { by: '1h' })).toBe(
      'the task has no time limit to extend'
    );
    expect(controlRejection('extend', view({ deadline: null }), NOW, { by: '1h' })).toBeNull();
    expect(controlRejection('extend', view({ deadline: null }), NOW, { until: '2026-11-23T00:00:00Z' })).toBe(
      'until: the task has no deadline; extend it by a duration ("by")'
    );
    expect(controlRejection('extend', view(), NOW, { until: '2026-11-22T12:30:00Z' })).toMatch(
      /^until: must be later than the current deadline 2026-11-22T13:00:00.000Z/
    );
    expect(
      controlRejection('extend', view({ deadline: NOW - 7_200_000 }), NOW, { until: '2026-11-22T11:00:00Z' })
    ).toBe('until: must be in the future');
  });

  it('refuses to resume a task paused at a limit that is still reached', () => {
    const paused = view({ state: 'paused', limitReached: 'the deadline has passed' });
    expect(controlRejection('resume', paused, NOW)).toBe(
      'the task is paused at its limit (the deadline has passed); extend it first (e.g. {"by": "2h"}), then resume'
    );
    expect(controlRejection('resume', { ...paused, limitReached: null }, NOW)).toBeNull();
  });

  it('computes the extended deadline', () => {
    expect(extendedDeadline(NOW, { by: '2h' })).toBe(NOW + 7_200_000);
    expect(extendedDeadline(NOW, { until: '2026-11-23T00:00:00Z' })).toBe(Date.parse('2026-11-23T00:00:00Z'));
  });
});

describe('activity log', () => {
  it('keeps the newest entries and formats a line', () => {
    let log = [] as ReturnType<typeof appendActivity>;
    for (let i = 0; i < 5; i++) log = appendActivity(log, { at: NOW + i, kind: 'step', message: `m${i}` }, 3);
    expect(log.map((e) => e.message)).toEqual(['m2', 'm3', 'm4']);
    expect(formatActivity({ at: NOW, kind: 'control', message: 'paused' })).toBe(
      '2026-11-22 12:00:00Z [control] paused'
    );
  });
});
