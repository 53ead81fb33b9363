import {
  assess,
  DEFAULT_THRESHOLDS,
  initialMode,
  nextMode,
  parseThreshold,
  pressureOf,
  slope,
  trendsOf,
  type HealthLevel,
  type ModeState,
  type ResourceSample,
} from '../../src/shared/resources';
import { parseSize } from '../../src/shared/size-schema';

const MB = 1024 * 1024;

function sample(over: Partial<ResourceSample> = {}): ResourceSample {
  return {
    at: 0,
    cpuPercent: 10,
    memoryPercent: 30,
    memorySource: 'machine',
    rssBytes: 100 * MB,
    heapUsedBytes: 50 * MB,
    memoryUsedBytes: 300 * MB,
    memoryLimitBytes: 1000 * MB,
    diskPercent: 40,
    diskUsedBytes: 400 * MB,
    diskFreeBytes: 600 * MB,
    diskPath: '/data',
    eventLoopLagMs: 5,
    ...over,
  };
}

describe('health levels', () => {
  it('grades each resource against its warning and critical thresholds, with a reason per resource', () => {
    const a = assess(sample({ cpuPercent: 85, memoryPercent: 91, memorySource: 'heap' }));
    expect(a.levels).toEqual({ cpu: 'warning', memory: 'critical', disk: 'healthy', eventLoop: 'healthy' });
    expect(a.level).toBe('critical');
    expect(a.reasons).toEqual(['cpu 85% >= 80% warning', 'memory 91% (heap) >= 90% critical']);
    expect(assess(sample()).level).toBe('healthy');
  });

  it('is failing when two resources are critical', () => {
    expect(assess(sample({ cpuPercent: 99, diskPercent: 97 })).level).toBe('failing');
  });

  it('lowers every threshold by the margin for the calm test (event loop: the same share)', () => {
    const s = sample({ memoryPercent: 77, eventLoopLagMs: 240 });
    expect(assess(s).level).toBe('healthy');
    const calm = assess(s, DEFAULT_THRESHOLDS, { margin: 5 });
    expect(calm.levels.memory).toBe('warning'); // 77 >= 80 - 5
    expect(calm.levels.eventLoop).toBe('warning'); // 240 >= 250 - 12.5
  });

  it('lets CPU and event-loop pressure drive the mode to degraded at most; memory and disk in full', () => {
    const busy = assess(sample({ cpuPercent: 99, eventLoopLagMs: 3_000 }));
    expect(busy.level).toBe('failing'); // shown as it is
    expect(pressureOf(busy)).toBe('warning');
    expect(pressureOf(assess(sample({ memoryPercent: 95 })))).toBe('critical');
    expect(pressureOf(assess(sample({ memoryPercent: 95, diskPercent: 99 })))).toBe('failing');
    expect(pressureOf(assess(sample()))).toBe('healthy');
  });

  it('takes a trend level when it is worse than the sample', () => {
    expect(assess(sample(), DEFAULT_THRESHOLDS, { trendLevels: { disk: 'warning' } }).levels.disk).toBe(
      'warning'
    );
  });
});

describe('modes with hysteresis', () => {
  const settings = { maxSlots: 8, calmSamples: 3 };
  let at = 0;
  const step = (state: ModeState, level: HealthLevel, calmLevel: HealthLevel = level) =>
    nextMode(state, { at: (at += 1000), level, calmLevel, reasons: [`because ${level}`] }, settings);

  it('gets worse at once and better one mode at a time, after enough calm samples', () => {
    let s = initialMode(settings, 0);
    const seen: string[] = [];
    const feed = (level: HealthLevel, calm?: HealthLevel) => {
      const r = step(s, level, calm);
      s = r.state;
      if (r.change) seen.push(`${r.change.from}->${r.change.to}:${r.change.slots}`);
    };
    feed('warning');
    expect(s).toMatchObject({ mode: 'degraded', slots: 4 });
    feed('critical');
    expect(s).toMatchObject({ mode: 'minimal', slots: 2 });
    feed('healthy');
    feed('healthy');
    expect(s.mode).toBe('minimal'); // two calm samples are not three
    feed('healthy');
    expect(s).toMatchObject({ mode: 'degraded', slots: 4 });
    for (let i = 0; i < 3; i++) feed('healthy');
    expect(s).toMatchObject({ mode: 'recovery', slots: 6 });
    feed('healthy');
    expect(s).toMatchObject({ mode: 'recovery', slots: 6, calm: 1 });
    feed('healthy');
    feed('healthy');
    expect(s).toMatchObject({ mode: 'normal', slots: 8 });
    expect(seen).toEqual([
      'normal->degraded:4',
      'degraded->minimal:2',
      'minimal->degraded:4',
      'degraded->recovery:6',
      'recovery->normal:8',
    ]);
  });

  it('does not count a sample within the margin of a threshold as calm, and a relapse resets the count', () => {
    let s = step(initialMode(settings, 0), 'warning').state;
    for (let i = 0; i < 5; i++) s = step(s, 'healthy', 'warning').state; // healthy, but within the margin
    expect(s.mode).toBe('degraded');
    s = step(s, 'healthy').state;
    s = step(s, 'healthy').state;
    s = step(s, 'warning').state;
    expect(s).toMatchObject({ mode: 'degraded', calm: 0 });
  });

  it('falls back from recovery to degraded on a warning', () => {
    let s: ModeState = { mode: 'recovery', since: 0, slots: 6, calm: 3 };
    const r = step(s, 'warning');
    s = r.state;
    expect(s).toMatchObject({ mode: 'degraded', slots: 4 });
    expect(r.change?.reason).toBe('because warning');
  });

  it('keeps at least one slot when there are few', () => {
    const s = nextMode(
      initialMode({ maxSlots: 1 }, 0),
      { at: 1, level: 'critical', calmLevel: 'critical', reasons: [] },
      { maxSlots: 1 }
    );
    expect(s.state.slots).toBe(1);
  });
});

describe('trends', () => {
  const series = (n: number, f: (i: number) => Partial<ResourceSample>) =>
    Array.from({ length: n }, (_, i) => sample({ at: i * 30_000, ...f(i) }));

  it('fits a line: the slope and how well it fits', () => {
    expect(
      slope([
        { x: 0, y: 1 },
        { x: 1, y: 3 },
        { x: 2, y: 5 },
      ])
    ).toEqual({ perMs: 2, r2: 1 });
    expect(slope([{ x: 1, y: 1 }])).toBeNull();
  });

  it('warns of steady memory growth that reaches the critical threshold within the horizon', () => {
    // 10 MB per 30 s from 500 MB of a 1000 MB limit: 900 MB (90 %) at 20 MB/min.
    const t = trendsOf(series(12, (i) => ({ memoryUsedBytes: (500 + 10 * i) * MB })));
    expect(t.memoryGrowthBytesPerMin).toBe(20 * MB);
    expect(t.timeUntilMemoryLimitMs).toBe(Math.round((290 * MB) / ((10 * MB) / 30_000)));
    expect(t.levels.memory).toBe('warning');
    expect(t.warnings[0]).toMatch(/^memory grows 20\.0 MB\/min: 90% of its limit in 15 min \(a leak\?\)$/);
    // The same growth over the first four minutes only is a worker warming up, not a leak.
    expect(
      trendsOf(series(9, (i) => ({ memoryUsedBytes: (500 + 10 * i) * MB }))).levels.memory
    ).toBeUndefined();
  });

  it('does not call a sawtooth of garbage collections a leak', () => {
    const t = trendsOf(series(12, (i) => ({ memoryUsedBytes: (i % 2 ? 700 : 400) * MB + i * 1000 })));
    expect(t.levels.memory).toBeUndefined();
    expect(t.timeUntilMemoryLimitMs).toBeNull();
  });

  it('says when the disk is full at its growth, and warns within the horizon', () => {
    const t = trendsOf(
      series(6, (i) => ({ diskUsedBytes: (400 + 50 * i) * MB, diskFreeBytes: (600 - 50 * i) * MB }))
    );
    expect(t.diskGrowthBytesPerMin).toBe(100 * MB);
    expect(t.timeUntilDiskFullMs).toBe(210_000); // 350 MB left at 100 MB/min
    expect(t.levels.disk).toBe('warning');
  });

  it('reports CPU saturation over the window and needs enough samples for any trend', () => {
    const t = trendsOf(series(6, (i) => ({ cpuPercent: i === 0 ? 50 : 99 })));
    expect(t.cpuSaturatedShare).toBeCloseTo(5 / 6);
    expect(t.warnings.some((w) => w.startsWith('CPU saturated: 83%'))).toBe(true);
    expect(trendsOf(series(3, () => ({ cpuPercent: 99 }))).cpuSaturatedShare).toBeNull();
  });
});

describe('settings', () => {
  it('reads thresholds as "warning,critical"', () => {
    expect(parseThreshold('70,90', 100)).toEqual({ warning: 70, critical: 90 });
    for (const bad of ['90,70', '80', 'a,b', '0,50', '50,101', '80,95,99']) {
      expect(parseThreshold(bad, 100)).toBeNull();
    }
  });

  it('reads sizes in bytes or with units, refusing others with the rule', () => {
    expect(parseSize('500MB')).toBe(500e6);
    expect(parseSize('2 GiB')).toBe(2 * 1024 ** 3);
    expect(parseSize('4096')).toBe(4096);
    expect(parseSize(1.5)).toBe(1);
    expect(() => parseSize('5 parsecs')).toThrow(/must be bytes or a size such as "500MB"/);
    expect(() => parseSize(-1)).toThrow(/0 bytes or more/);
  });
});
