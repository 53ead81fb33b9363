import {
  dueLimitEvents,
  idleLevel,
  newPhaseClock,
  nextLimitCheckAt,
  phaseUsedMs,
  startClock,
  stopClock,
  taskWarningAt,
  type LimitView,
} from '../../src/shared/limits';
import { limitsOf, TaskSpecSchema } from '../../src/shared/spec';
import { formatDuration } from '../../src/shared/velocity';

const MIN = 60_000;
const view = (over: Partial<LimitView> = {}): LimitView => ({
  now: 0,
  startedAt: 0,
  deadlineAt: 60 * MIN,
  phase: newPhaseClock(0, 0),
  phaseLimitMs: 10 * MIN,
  warned: {},
  ...over,
});
const kinds = (v: LimitView) => dueLimitEvents(v, formatDuration).map((e) => e.kind);

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
    expect(kinds(view({ now: 44 * MIN, phase: stopClock(newPhaseClock(0, 0), 0) }))).toEqual([]);
    const at45 = view({ now: 45 * MIN, phase: stopClock(newPhaseClock(0, 0), 0) });
    expect(taskWarningAt(0, 60 * MIN)).toBe(45 * MIN);
    const [warning] = dueLimitEvents(at45, formatDuration);
    expect(warning).toMatchObject({ kind: 'task-warning', key: 60 * MIN });
    expect(warning?.message).toContain('deadline in 15m 00s');
    expect(kinds({ ...at45, warned: { task: 60 * MIN } })).toEqual([]);
    // Extending the deadline re-arms the warning for the new one.
    expect(kinds({ ...at45, now: 80 * MIN, deadlineAt: 100 * MIN, warned: { task: 60 * MIN } })).toEqual([
      'task-warning',
    ]);
  });

  it('gives the phase warning at 75% of the phase limit (extensions included) and then the limit', () => {
    const phase = newPhaseClock(1, 0);
    expect(kinds(view({ now: 7 * MIN, phase }))).toEqual([]);
    expect(kinds(view({ now: 7.5 * MIN, phase }))).toEqual(['phase-warning']);
    const warned = { phase: `1:${10 * MIN}` };
    expect(kinds(view({ now: 9 * MIN, phase, warned }))).toEqual([]);
    expect(kinds(view({ now: 10 * MIN, phase, warned }))).toEqual(['phase-limit']);
    const extended = { ...phase, extraMs: 5 * MIN };
    expect(kinds(view({ now: 10 * MIN, phase: extended, warned }))).toEqual([]);
    expect(kinds(view({ now: 11.25 * MIN, phase: extended, warned }))).toEqual(['phase-warning']);
  });

  it('reports reached limits alone, most severe first', () => {
    const events = dueLimitEvents(view({ now: 61 * MIN, phase: newPhaseClock(0, 0) }), formatDuration);
    expect(events.map((e) => e.kind)).toEqual(['task-limit', 'phase-limit']);
    expect(events[0]?.message).toMatch(/^deadline reached/);
    expect(events[1]?.message).toBe('phase 1 used its 10m 00s limit');
  });

  it('without a deadline only the phase counts; a stopped clock never reaches its limit', () => {
    const stopped = stopClock(newPhaseClock(0, 0), 9 * MIN);
    expect(
      kinds(view({ deadlineAt: null, now: 1_000 * MIN, phase: stopped, warned: { phase: `0:${10 * MIN}` } }))
    ).toEqual([]);
    expect(
      nextLimitCheckAt(
        view({ deadlineAt: null, phase: stopped, now: 50 * MIN, warned: { phase: `0:${10 * MIN}` } })
      )
    ).toBeNull();
  });
});

describe('next check', () => {
  it('is the earliest warning or limit still ahead', () => {
    expect(nextLimitCheckAt(view())).toBe(7.5 * MIN); // phase warning
    expect(nextLimitCheckAt(view({ warned: { phase: `0:${10 * MIN}` } }))).toBe(10 * MIN);
    const stopped = stopClock(newPhaseClock(0, 0), 0);
    expect(nextLimitCheckAt(view({ phase: stopped }))).toBe(45 * MIN);
    expect(nextLimitCheckAt(view({ phase: stopped, warned: { task: 60 * MIN } }))).toBe(60 * MIN);
    // A phase clock that already ran 4 minutes and restarts at 30: its limit is 6 minutes later.
    const resumed = startClock({ ...stopped, usedMs: 4 * MIN }, 30 * MIN);
    expect(
      nextLimitCheckAt(view({ now: 30 * MIN, phase: resumed, warned: { phase: `0:${10 * MIN}` } }))
    ).toBe(36 * MIN);
  });
});

describe('idle level', () => {
  it('is active, then warning, then pause', () => {
    expect(idleLevel(0, 4 * MIN, 5 * MIN, 15 * MIN)).toBe('active');
    expect(idleLevel(0, 5 * MIN, 5 * MIN, 15 * MIN)).toBe('warning');
    expect(idleLevel(0, 15 * MIN, 5 * MIN, 15 * MIN)).toBe('pause');
  });
});

describe('spec limits', () => {
  const base = { v: 1, taskId: 't', agent: 'a', phases: [{ id: 'p', steps: [{ id: 's', action: 'x' }] }] };
  it('defaults to seed 001: task 1 h, phase 10 min, idle 5/15 min, tools shell 30 s ... search 60 s', () => {
    expect(limitsOf(TaskSpecSchema.parse(base))).toEqual({
      task: 60 * MIN,
      phase: 10 * MIN,
      idleWarning: 5 * MIN,
      idlePause: 15 * MIN,
      tools: { shell: 30_000, file: 10_000, browser: 30_000, search: 60_000 },
    });
    const custom = TaskSpecSchema.parse({
      ...base,
      timeouts: { task: 2 * 60 * MIN, tools: { shell: 5_000 } },
    });
    expect(limitsOf(custom)).toMatchObject({ task: 120 * MIN, tools: { shell: 5_000, file: 10_000 } });
  });

  it('names the field and the rule for limits out of range', () => {
    const issues = (timeouts: unknown) =>
      TaskSpecSchema.safeParse({ ...base, timeouts }).error?.issues.map(
        (i) => `${i.path.join('.')}: ${i.message}`
      );
    expect(issues({ task: 5 * 60 * MIN })).toEqual([
      'timeouts.task: must be at most 4 hours (14400000); give a `deadline` for a longer task',
    ]);
    expect(issues({ phase: 31 * MIN })).toEqual(['timeouts.phase: must be at most 30 minutes (1800000)']);
    expect(issues({ idleWarning: 20 * MIN })).toEqual([
      'timeouts.idleWarning: idleWarning must be shorter than idlePause',
    ]);
    expect(issues({ tools: { browser: 50 } })?.[0]).toMatch(/^timeouts\.tools\.browser: /);
  });

  it('accepts webhooks with http(s) URLs and known events only', () => {
    const ok = TaskSpecSchema.safeParse({
      ...base,
      webhooks: [{ url: 'https://example.test/hook', events: ['task.failed'] }],
    });
    expect(ok.success).toBe(true);
    const bad = TaskSpecSchema.safeParse({
      ...base,
      webhooks: [{ url: 'ftp://x/y' }, { url: 'http://x', events: ['task.exploded'] }],
    });
    expect(bad.error?.issues.map((i) => i.path.join('.'))).toEqual(['webhooks.0.url', 'webhooks.1.events.0']);
  });
});
