import {
  estimate,
  etaConfidence,
  itemRate,
  percentPerHour,
  type ProgressPoint,
} from '../../src/shared/velocity';
import { formatDuration } from '../../src/shared/duration';
import { withItemRate, withItems, type RunningStepView, type TaskProgress } from '../../src/shared/progress';

const MIN = 60_000;
/** Points every `stepMs` of active time, `perStep` percent apart. */
function steady(count: number, stepMs: number, perStep: number): ProgressPoint[] {
  return Array.from({ length: count }, (_, i) => ({ activeMs: i * stepMs, percent: i * perStep }));
}

describe('percentPerHour', () => {
  it('is the slope over the window in percent per hour of active time', () => {
    expect(percentPerHour(steady(5, MIN, 1))).toBeCloseTo(60); // 1% a minute
    expect(percentPerHour(steady(3, 30 * MIN, 10))).toBeCloseTo(20);
  });

  it('only looks at the most recent window', () => {
    // Slow for an hour (1%/10 min), then fast (1%/min) for 20 minutes: the window sees mostly fast.
    const slow = steady(7, 10 * MIN, 1);
    const fast = Array.from({ length: 21 }, (_, i) => ({ activeMs: 60 * MIN + i * MIN, percent: 6 + i }));
    const speed = percentPerHour([...slow, ...fast]) as number;
    expect(speed).toBeGreaterThan(40);
    expect(percentPerHour([...slow, ...fast], 5 * MIN)).toBeCloseTo(60);
  });

  it('is null without two points or with too short a span, never negative', () => {
    expect(percentPerHour([])).toBeNull();
    expect(percentPerHour([{ activeMs: 0, percent: 0 }])).toBeNull();
    expect(
      percentPerHour([
        { activeMs: 0, percent: 0 },
        { activeMs: 1_000, percent: 5 },
      ])
    ).toBeNull();
    // A rollback can make percent go down: velocity is then 0, not negative.
    expect(
      percentPerHour([
        { activeMs: 0, percent: 50 },
        { activeMs: MIN, percent: 40 },
      ])
    ).toBe(0);
  });
});

describe('etaConfidence', () => {
  it('is high for many steady points over minutes with 10%+ done', () => {
    expect(etaConfidence(steady(10, MIN, 2))).toBe('high');
  });

  it('is medium with fewer points or less done', () => {
    expect(etaConfidence(steady(3, 20_000, 1))).toBe('medium');
    expect(etaConfidence(steady(10, MIN, 0.5))).toBe('medium'); // only 4.5% done
  });

  it('is low with too little evidence or erratic speed', () => {
    expect(etaConfidence(steady(2, MIN, 1))).toBe('low');
    expect(
      etaConfidence([
        { activeMs: 0, percent: 0 },
        { activeMs: 10_000, percent: 0 },
        { activeMs: 20_000, percent: 0 },
      ])
    ).toBe('low');
    const erratic = [0, 1, 20, 21, 40, 41].map((percent, i) => ({ activeMs: i * MIN, percent }));
    expect(etaConfidence(erratic)).toBe('low');
  });
});

describe('estimate', () => {
  it('gives the active time left at the current velocity', () => {
    const v = estimate(steady(10, MIN, 2), { activeMs: 10 * MIN, percent: 20 }, 3.5);
    expect(v.percentPerHour).toBeCloseTo(120);
    expect(v.etaMs).toBeCloseTo(40 * MIN, -3); // 80% left at 2%/min
    expect(v.itemsPerSecond).toBe(3.5);
    expect(v.confidence).toBe('high');
  });

  it('has no ETA (low confidence) before anything moved, and 0 when done', () => {
    expect(estimate([], { activeMs: 0, percent: 0 })).toEqual({
      percentPerHour: null,
      itemsPerSecond: null,
      etaMs: null,
      confidence: 'low',
    });
    expect(estimate(steady(3, MIN, 50), { activeMs: 2 * MIN, percent: 100 }).etaMs).toBe(0);
  });

  it('ignores history points later than the current one (after a rollback)', () => {
    const v = estimate(steady(10, MIN, 2), { activeMs: 3 * MIN, percent: 6 });
    expect(v.percentPerHour).toBeCloseTo(120);
  });
});

describe('itemRate', () => {
  it('is items per second over the last minute', () => {
    const samples = Array.from({ length: 11 }, (_, i) => ({ at: 1_000_000 + i * 10_000, done: i * 50 }));
    expect(itemRate(samples)).toBeCloseTo(5);
    expect(itemRate(samples, 20_000)).toBeCloseTo(5);
  });

  it('is null with one sample or under a second of span', () => {
    expect(itemRate([])).toBeNull();
    expect(itemRate([{ at: 0, done: 1 }])).toBeNull();
    expect(
      itemRate([
        { at: 0, done: 1 },
        { at: 500, done: 9 },
      ])
    ).toBeNull();
  });
});

describe('formatDuration', () => {
  it('writes short human durations', () => {
    expect(formatDuration(12_000)).toBe('12s');
    expect(formatDuration(500)).toBe('500ms');
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(960)).toBe('1s');
    expect(formatDuration(250_000)).toBe('4m 10s');
    expect(formatDuration(2 * 3_600_000 + 5 * MIN)).toBe('2h 05m');
    expect(formatDuration(50 * 3_600_000)).toBe('2d 02h');
    expect(formatDuration(-1)).toBe('?');
  });
});

describe('withItems', () => {
  const base: TaskProgress = {
    taskId: 't',
    agent: 'a',
    title: 't',
    state: 'executing',
    percent: 40,
    stepsPercent: 40,
    phase: { index: 0, count: 1, id: 'p', title: 'p' },
    step: { index: 1, count: 3, id: 's', title: 's', action: 'x' },
    stepShare: 20,
    stepsCompleted: 1,
    items: null,
    velocity: { percentPerHour: null, itemsPerSecond: null, etaMs: null, confidence: 'low' },
    etaAt: null,
    pausing: false,
    cancelling: false,
    recent: [],
    history: steady(6, MIN, 8).map((p, i) => ({
      at: i,
      percent: p.percent,
      stepsCompleted: 1,
      activeMs: p.activeMs,
    })),
    startedAt: 0,
    updatedAt: 0,
    completedAt: null,
    elapsedMs: 6 * MIN,
    activeMs: 6 * MIN,
    run: 1,
    lastCheckpoint: null,
    deadline: null,
    error: null,
  };

  it('adds the done part of the current step and recomputes velocity and ETA', () => {
    const p = withItems(base, { done: 50, total: 100, rate: 2 }, 1_000_000);
    expect(p.percent).toBeCloseTo(50); // 40 + 20 x 0.5
    expect(p.items?.done).toBe(50);
    expect(p.velocity.itemsPerSecond).toBe(2);
    expect(p.velocity.percentPerHour).toBeCloseTo(500); // 50% over 6 minutes
    expect(p.etaAt).toBe(1_000_000 + (p.velocity.etaMs as number));
  });

  it('drops items of a task that is no longer running', () => {
    const p = withItems({ ...base, state: 'cancelled' }, { done: 50, total: 100 }, 0);
    expect(p.items).toBeNull();
    expect(p.percent).toBe(40);
    expect(p.etaAt).toBeNull();
  });
});

describe('withItemRate: an ETA from the first items', () => {
  const none = { percentPerHour: null, itemsPerSecond: 2, etaMs: null, confidence: 'low' as const };
  const step = {
    id: 'analyze',
    title: 'Analyze',
    action: 'codebase.analyze',
    state: 'running' as const,
    share: 50,
    fraction: 0.1,
    items: { done: 10, total: 100, rate: 2 },
  } as unknown as RunningStepView;

  test('a running step at 2 items/s, worth 50 points for 100 items, gives 1 point/s to the task', () => {
    const v = withItemRate(none, 25, step);
    expect(v.percentPerHour).toBeCloseTo(3_600);
    expect(v.etaMs).toBe(75_000); // 75 points left at 1 point a second
    expect(v.confidence).toBe('low');
  });

  test('the task samples win once they give a speed; no rate or no total gives nothing', () => {
    const known = { ...none, percentPerHour: 100, etaMs: 10, confidence: 'medium' as const };
    expect(withItemRate(known, 25, step)).toBe(known);
    expect(withItemRate(none, 25, { ...step, items: { done: 1, total: null, rate: 2 } })).toBe(none);
    expect(withItemRate(none, 25, { ...step, items: { done: 1, total: 10 } })).toBe(none);
    expect(withItemRate(none, 25, undefined)).toBe(none);
  });
});
