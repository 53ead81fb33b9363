import {
  CATEGORY_DEFAULTS,
  categoryForEstimate,
  idleLevel,
  initialDeadline,
  limitEventsDue,
  limitReached,
  newPhaseClock,
  nextLimitCheckAt,
  phaseUsedMs,
  startClock,
  stopClock,
  taskLimitsOf,
  taskWarningAt,
  type LimitsView,
  type PhaseClock,
} from '../../src/shared/limits';
import { taskSpecSchema } from '../../src/shared/spec';
import { formatDuration } from '../../src/shared/duration';

const MIN = 60_000;
const HOUR = 60 * MIN;
const view = (over: Partial<LimitsView> = {}): LimitsView => ({
  now: 0,
  startedAt: 0,
  deadlineAt: 60 * MIN,
  clocks: [newPhaseClock(0, 0)],
  phaseLimitMs: 10 * MIN,
  warned: { phases: {} },
  reached: { phases: {} },
  ...over,
});
const kinds = (v: LimitsView) => limitEventsDue(v, formatDuration).map((e) => e.kind);
const stopped = (index = 0, at = 0): PhaseClock => stopClock(newPhaseClock(index, 0), at);

describe('phase clock', () => {
  it('counts working time only: stopped while paused or waiting', () => {
    let clock = newPhaseClock(2, 1_000);
    expect(phaseUsedMs(clock, 4_000)).toBe(3_000);
    clock = stopClock(clock, 4_000);
    expect(phaseUsedMs(clock, 100_000)).toBe(3_000);
    expect(stopClock(clock, 200_000)).toBe(clock);
    clock = startClock(clock, 100_000);
    expect(phaseUsedMs(clock, 101_000)).toBe(4_000);
    expect(startClock(clock, 150_000)).toBe(clock);
  });
});

describe('limit events', () => {
  it('gives nothing early, the task warning at 75% of the time to the deadline, once', () => {
    expect(kinds(view({ now: 44 * MIN, clocks: [stopped()] }))).toEqual([]);
    const at45 = view({ now: 45 * MIN, clocks: [stopped()] });
    expect(taskWarningAt(0, 60 * MIN)).toBe(45 * MIN);
    const [warning] = limitEventsDue(at45, formatDuration);
    expect(warning).toMatchObject({ kind: 'task-warning', key: 60 * MIN });
    expect(warning?.message).toContain('deadline in 15m 00s');
    expect(kinds({ ...at45, warned: { task: 60 * MIN, phases: {} } })).toEqual([]);
    // Extending the deadline re-arms the warning for the new one.
    expect(
      kinds({ ...at45, now: 80 * MIN, deadlineAt: 100 * MIN, warned: { task: 60 * MIN, phases: {} } })
    ).toEqual(['task-warning']);
  });

  it('gives each phase its warning at 75% of its limit (extensions included) and then the limit, once', () => {
    const phase = newPhaseClock(1, 0);
    expect(kinds(view({ now: 7 * MIN, clocks: [phase] }))).toEqual([]);
    expect(kinds(view({ now: 7.5 * MIN, clocks: [phase] }))).toEqual(['phase-warning']);
    const warned = { phases: { 1: 10 * MIN } };
    expect(kinds(view({ now: 9 * MIN, clocks: [phase], warned }))).toEqual([]);
    expect(kinds(view({ now: 10 * MIN, clocks: [phase], warned }))).toEqual(['phase-limit']);
    expect(
      kinds(view({ now: 10 * MIN, clocks: [phase], warned, reached: { phases: { 1: 10 * MIN } } }))
    ).toEqual([]);
    const extended = { ...phase, extraMs: 5 * MIN };
    expect(kinds(view({ now: 10 * MIN, clocks: [extended], warned }))).toEqual([]);
    expect(kinds(view({ now: 11.25 * MIN, clocks: [extended], warned }))).toEqual(['phase-warning']);
  });

  it('watches every running phase on its own clock', () => {
    const events = limitEventsDue(
      view({ deadlineAt: null, now: 12 * MIN, clocks: [newPhaseClock(0, 0), newPhaseClock(2, 4 * MIN)] }),
      formatDuration
    );
    expect(events.map((e) => [e.kind, 'phase' in e ? e.phase : null])).toEqual([
      ['phase-limit', 0],
      ['phase-warning', 2],
    ]);
  });

  it('reports reached limits before warnings', () => {
    const events = limitEventsDue(view({ now: 61 * MIN }), formatDuration);
    expect(events.map((e) => e.kind)).toEqual(['task-limit', 'phase-limit']);
    expect(events[0]?.message).toMatch(/^deadline reached/);
    expect(events[1]?.message).toBe('phase 1 used its 10m 00s limit');
  });

  it('has nothing to watch without a deadline or a phase limit, or with every clock stopped', () => {
    expect(kinds(view({ deadlineAt: null, phaseLimitMs: null, now: 1_000 * HOUR }))).toEqual([]);
    expect(nextLimitCheckAt(view({ deadlineAt: null, phaseLimitMs: null }))).toBeNull();
    const idle = view({
      deadlineAt: null,
      now: 50 * MIN,
      clocks: [stopped(0, 9 * MIN)],
      warned: { phases: { 0: 10 * MIN } },
    });
    expect(kinds(idle)).toEqual([]);
    expect(nextLimitCheckAt(idle)).toBeNull();
  });

  it('says which limit a paused task still exceeds', () => {
    expect(limitReached(view({ now: 30 * MIN, clocks: [stopped(0, 5 * MIN)] }))).toBeNull();
    expect(limitReached(view({ now: 61 * MIN, clocks: [] }))).toBe('the deadline has passed');
    expect(limitReached(view({ deadlineAt: null, clocks: [stopped(1, 11 * MIN)] }))).toBe(
      'phase 2 used its limit'
    );
  });
});

describe('next check', () => {
  it('is the earliest warning or limit still ahead', () => {
    expect(nextLimitCheckAt(view())).toBe(7.5 * MIN); // phase warning
    expect(nextLimitCheckAt(view({ warned: { phases: { 0: 10 * MIN } } }))).toBe(10 * MIN);
    expect(nextLimitCheckAt(view({ clocks: [stopped()] }))).toBe(45 * MIN);
    expect(nextLimitCheckAt(view({ clocks: [stopped()], warned: { task: 60 * MIN, phases: {} } }))).toBe(
      60 * MIN
    );
    // A phase clock that already ran 4 minutes and restarts at 30: its limit is 6 minutes later.
    const resumed = startClock({ ...stopped(), usedMs: 4 * MIN }, 30 * MIN);
    expect(
      nextLimitCheckAt(view({ now: 30 * MIN, clocks: [resumed], warned: { phases: { 0: 10 * MIN } } }))
    ).toBe(36 * MIN);
    // A limit already acted on is not watched again.
    expect(
      nextLimitCheckAt(
        view({
          now: 70 * MIN,
          clocks: [stopped()],
          warned: { task: 60 * MIN, phases: {} },
          reached: { task: 60 * MIN, phases: {} },
        })
      )
    ).toBeNull();
  });
});

describe('idle level', () => {
  it('is active, then warning, then pause', () => {
    expect(idleLevel(0, 4 * MIN, 5 * MIN, 15 * MIN)).toBe('active');
    expect(idleLevel(0, 5 * MIN, 5 * MIN, 15 * MIN)).toBe('warning');
    expect(idleLevel(0, 15 * MIN, 5 * MIN, 15 * MIN)).toBe('pause');
  });
});

describe('duration categories and limit policies', () => {
  const base = { v: 1, taskId: 't', agent: 'a', phases: [{ id: 'p', steps: [{ id: 's', action: 'x' }] }] };
  const limitsOf = (over: Record<string, unknown>) =>
    taskLimitsOf(taskSpecSchema().parse({ ...base, ...over }));

  it('follows seed 001: an unlabelled task is long (4 h, 2 h per phase, stop); idle 5/15 min', () => {
    expect(limitsOf({})).toEqual({
      category: 'long',
      taskMs: 4 * HOUR,
      phaseMs: 2 * HOUR,
      onLimit: 'stop',
      idleWarningMs: 5 * MIN,
      idlePauseMs: 15 * MIN,
    });
  });

  it('gives extended and indefinite tasks no deadline, no phase limit, and pause at any limit they set', () => {
    for (const category of ['extended', 'indefinite'] as const) {
      expect(limitsOf({ category })).toMatchObject({
        category,
        taskMs: null,
        phaseMs: null,
        onLimit: 'pause',
      });
    }
    expect(limitsOf({ category: 'extended', timeouts: { phase: '12h' } })).toMatchObject({
      phaseMs: 12 * HOUR,
    });
  });

  it('picks the category from an estimate', () => {
    expect([30_000, 5 * MIN, 45 * MIN, 30 * HOUR].map(categoryForEstimate)).toEqual([
      'short',
      'medium',
      'long',
      'extended',
    ]);
    expect(limitsOf({ estimate: '30h' })).toMatchObject({ category: 'extended', taskMs: null });
    expect(limitsOf({ estimate: '5m' })).toMatchObject({
      category: 'medium',
      taskMs: CATEGORY_DEFAULTS.medium.taskMs,
    });
    expect(limitsOf({ category: 'short', estimate: '30h' }).category).toBe('short');
  });

  it('takes the spec limits and policy over the category, up to a year, as ms or text', () => {
    expect(limitsOf({ timeouts: { task: '30h', phase: 12 * HOUR }, onLimit: 'warn' })).toMatchObject({
      category: 'long',
      taskMs: 30 * HOUR,
      phaseMs: 12 * HOUR,
      onLimit: 'warn',
    });
    const spec = taskSpecSchema().parse({ ...base, timeouts: { task: '21d' } });
    expect(initialDeadline(spec, taskLimitsOf(spec), 1_000)).toBe(1_000 + 21 * 24 * HOUR);
    const noDeadline = taskSpecSchema().parse({ ...base, category: 'extended' });
    expect(initialDeadline(noDeadline, taskLimitsOf(noDeadline), 1_000)).toBeNull();
  });

  it('names the field and the rule for limits out of range', () => {
    const issues = (over: Record<string, unknown>) =>
      taskSpecSchema()
        .safeParse({ ...base, ...over })
        .error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(issues({ timeouts: { task: '400d' } })).toEqual([
      'timeouts.task: must be between 1000 ms and 31622400000 ms (got 34560000000)',
    ]);
    expect(issues({ timeouts: { phase: 'soon' } })).toEqual([
      'timeouts.phase: must be a duration like 90s, 15m, 2h, 1d or 1h30m (got "soon")',
    ]);
    expect(issues({ timeouts: { idleWarning: 20 * MIN } })).toEqual([
      'timeouts.idleWarning: idleWarning must be shorter than idlePause',
    ]);
    expect(issues({ category: 'forever' })?.[0]).toMatch(/^category: /);
    expect(issues({ onLimit: 'explode' })?.[0]).toMatch(/^onLimit: /);
    expect(issues({ timeouts: { tools: { browser: 50 } } })?.[0]).toMatch(/^timeouts\.tools\.browser: /);
  });

  it('accepts webhooks with http(s) URLs and known events only', () => {
    const ok = taskSpecSchema().safeParse({
      ...base,
      webhooks: [{ url: 'https://example.test/hook', events: ['task.failed'] }],
    });
    expect(ok.success).toBe(true);
    const bad = taskSpecSchema().safeParse({
      ...base,
      webhooks: [{ url: 'ftp://x/y' }, { url: 'http://x', events: ['task.exploded'] }],
    });
    expect(bad.error?.issues.map((i) => i.path.join('.'))).toEqual(['webhooks.0.url', 'webhooks.1.events.0']);
  });
});
