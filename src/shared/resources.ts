/**
 * Resource awareness, the pure part: health levels from a sample of the worker's machine, the worker's
 * operation mode with hysteresis, and trends over a window (a memory leak, time until the disk is
 * full, CPU saturation). The sampler that feeds it is src/runtime/resource-monitor.ts.
 *
 * Levels (seed 002): healthy; warning (a resource over its warning threshold, or a trend that reaches
 * a limit within the horizon); critical (over a critical threshold); failing (two or more resources
 * critical, or the sampler itself keeps failing).
 *
 * The mode follows the *pressure*: memory and disk count in full (running out of them loses work),
 * CPU and the event loop as a warning at most (a busy machine is slow, it loses nothing, and sending
 * steps away would only move the same work later).
 *
 * Modes: normal (every slot); degraded (half the slots, progress reported less often, recreatable
 * files cleared); minimal (a quarter of the slots, only essential tasks run: the others wait on a
 * durable timer with their cursor saved); recovery (slots ramp back up one step per calm sample).
 * A worse level switches at once; a better one must hold for `calmSamples` samples below the
 * thresholds less `margin` points, one mode at a time, so a worker near a threshold does not flap.
 */

export const RESOURCE_KINDS = ['cpu', 'memory', 'disk', 'eventLoop'] as const;
export type ResourceKind = (typeof RESOURCE_KINDS)[number];

export const HEALTH_LEVELS = ['healthy', 'warning', 'critical', 'failing'] as const;
export type HealthLevel = (typeof HEALTH_LEVELS)[number];

export const WORKER_MODES = ['normal', 'recovery', 'degraded', 'minimal'] as const;
export type WorkerMode = (typeof WORKER_MODES)[number];

export interface Threshold {
  warning: number;
  critical: number;
}

/** Percent of the resource in use (cpu, memory, disk), ms of event-loop lag (eventLoop). */
export type Thresholds = Record<ResourceKind, Threshold>;

/** The seeds' defaults: CPU 80/95 %, memory 80/90 %, disk 80/95 %; an event loop late by 250/1000 ms. */
export const DEFAULT_THRESHOLDS: Readonly<Thresholds> = {
  cpu: { warning: 80, critical: 95 },
  memory: { warning: 80, critical: 90 },
  disk: { warning: 80, critical: 95 },
  eventLoop: { warning: 250, critical: 1_000 },
};

export type MemorySource = 'machine' | 'cgroup' | 'limit' | 'heap';

export interface ResourceSample {
  /** When it was taken, ms since the epoch. */
  at: number;
  /** The machine's CPU load since the previous sample, percent of all cores. */
  cpuPercent: number;
  /**
   * Memory pressure, percent: the worst of the machine's memory in use, its cgroup's (a container's
   * limit), the worker's RSS against LONGRUN_MEMORY_LIMIT_MB and its JS heap against the heap limit.
   */
  memoryPercent: number;
  /** Which of those `memoryPercent` is. */
  memorySource: MemorySource;
  rssBytes: number;
  heapUsedBytes: number;
  /** What `memoryPercent` measures (of `memorySource`) and the limit it is measured against, bytes. */
  memoryUsedBytes: number;
  memoryLimitBytes: number;
  /** The fullest of the disks holding the data folder and the artifact store. */
  diskPercent: number;
  diskUsedBytes: number;
  diskFreeBytes: number;
  diskPath: string;
  /** The event loop's delay (p90 over the interval), ms. */
  eventLoopLagMs: number;
}

export interface Assessment {
  level: HealthLevel;
  levels: Record<ResourceKind, HealthLevel>;
  /** Why the level is not healthy, one line per resource, e.g. `memory 91% (heap) >= 90% critical`. */
  reasons: string[];
}

function valueOf(sample: ResourceSample, kind: ResourceKind): number {
  switch (kind) {
    case 'cpu':
      return sample.cpuPercent;
    case 'memory':
      return sample.memoryPercent;
    case 'disk':
      return sample.diskPercent;
    case 'eventLoop':
      return sample.eventLoopLagMs;
  }
}

function describe(kind: ResourceKind, value: number, sample: ResourceSample): string {
  if (kind === 'eventLoop') return `event loop lag ${Math.round(value)} ms`;
  const extra =
    kind === 'memory' ? ` (${sample.memorySource})` : kind === 'disk' ? ` (${sample.diskPath})` : '';
  return `${kind} ${Math.round(value)}%${extra}`;
}

const SEVERITY: Record<HealthLevel, number> = { healthy: 0, warning: 1, critical: 2, failing: 3 };

export function worstLevel(levels: HealthLevel[]): HealthLevel {
  return levels.reduce<HealthLevel>((a, b) => (SEVERITY[b] > SEVERITY[a] ? b : a), 'healthy');
}

/**
 * The levels of one sample. `margin` lowers every threshold by that many points (ms for the event
 * loop: the same share of its warning threshold), the test a better level must pass to count as calm.
 */
export function assess(
  sample: ResourceSample,
  thresholds: Thresholds = DEFAULT_THRESHOLDS,
  opts: { margin?: number; trendLevels?: Partial<Record<ResourceKind, HealthLevel>> } = {}
): Assessment {
  const margin = opts.margin ?? 0;
  const levels = {} as Record<ResourceKind, HealthLevel>;
  const reasons: string[] = [];
  for (const kind of RESOURCE_KINDS) {
    const t = thresholds[kind];
    const less = kind === 'eventLoop' ? (t.warning * margin) / 100 : margin;
    const value = valueOf(sample, kind);
    let level: HealthLevel =
      value >= t.critical - less ? 'critical' : value >= t.warning - less ? 'warning' : 'healthy';
    if (level !== 'healthy') {
      const limit = level === 'critical' ? t.critical : t.warning;
      const unit = kind === 'eventLoop' ? ' ms' : '%';
      reasons.push(`${describe(kind, value, sample)} >= ${limit}${unit} ${level}`);
    }
    const trend = opts.trendLevels?.[kind];
    if (trend && SEVERITY[trend] > SEVERITY[level]) level = trend;
    levels[kind] = level;
  }
  const criticals = RESOURCE_KINDS.filter((k) => levels[k] === 'critical').length;
  const level = criticals >= 2 ? 'failing' : worstLevel(Object.values(levels));
  return { level, levels, reasons };
}

/** The level that drives the mode (see the module doc): CPU and event-loop lag count as warning at most. */
export function pressureOf(a: Pick<Assessment, 'level' | 'levels'>): HealthLevel {
  if (a.level === 'failing' && a.levels.memory === 'critical' && a.levels.disk === 'critical')
    return 'failing';
  const capped = (l: HealthLevel): HealthLevel => (l === 'healthy' ? 'healthy' : 'warning');
  return worstLevel([a.levels.memory, a.levels.disk, capped(a.levels.cpu), capped(a.levels.eventLoop)]);
}

export interface ModeSettings {
  /** Activity slots in normal mode. */
  maxSlots: number;
  /** Consecutive calm samples before the mode steps down one level. @default 3 */
  calmSamples?: number;
}

export interface ModeState {
  mode: WorkerMode;
  /** When the mode began, ms since the epoch. */
  since: number;
  /** Activity slots the worker offers now. */
  slots: number;
  /** Consecutive samples calm enough for the next better mode. */
  calm: number;
}

export interface ModeChange {
  from: WorkerMode;
  to: WorkerMode;
  at: number;
  slots: number;
  /** The sample's reasons (why it is worse), or `calm for N samples` (why it is better). */
  reason: string;
}

/** The slots of a mode: all in normal, half in degraded, a quarter (at least one) in minimal. */
export function slotsFor(mode: Exclude<WorkerMode, 'recovery'>, maxSlots: number): number {
  if (mode === 'normal') return maxSlots;
  return Math.max(1, Math.floor(maxSlots / (mode === 'degraded' ? 2 : 4)));
}

const MODE_OF_LEVEL: Record<HealthLevel, Exclude<WorkerMode, 'recovery'>> = {
  healthy: 'normal',
  warning: 'degraded',
  critical: 'minimal',
  failing: 'minimal',
};
const MODE_RANK: Record<WorkerMode, number> = { normal: 0, recovery: 1, degraded: 2, minimal: 3 };

export function initialMode(settings: ModeSettings, at: number): ModeState {
  return { mode: 'normal', since: at, slots: settings.maxSlots, calm: 0 };
}

/**
 * The mode after one sample: `level` is the sample's level, `calmLevel` its level with the thresholds
 * lowered by the margin. Worse: switch at once. Better: after `calmSamples` calm samples, one step
 * (minimal -> degraded -> recovery), and recovery adds a quarter of the slots per calm sample until
 * they are all back (normal).
 */
export function nextMode(
  state: ModeState,
  sample: { at: number; level: HealthLevel; calmLevel: HealthLevel; reasons: string[] },
  settings: ModeSettings
): { state: ModeState; change?: ModeChange } {
  const calmSamples = settings.calmSamples ?? 3;
  const wanted = MODE_OF_LEVEL[sample.level];
  const change = (to: WorkerMode, slots: number, reason: string) => {
    const next: ModeState = { mode: to, since: sample.at, slots, calm: 0 };
    return to === state.mode
      ? { state: next }
      : { state: next, change: { from: state.mode, to, at: sample.at, slots, reason } };
  };
  if (MODE_RANK[wanted] > MODE_RANK[state.mode]) {
    return change(wanted, slotsFor(wanted, settings.maxSlots), sample.reasons.join('; '));
  }
  const calmMode = MODE_OF_LEVEL[sample.calmLevel];
  const better = MODE_RANK[calmMode] < MODE_RANK[state.mode === 'recovery' ? 'degraded' : state.mode];
  if (!better) return { state: { ...state, calm: 0 } };
  const calm = state.calm + 1;
  if (calm < calmSamples) return { state: { ...state, calm } };
  const why = `calm for ${calm} samples`;
  if (state.mode === 'minimal') return change('degraded', slotsFor('degraded', settings.maxSlots), why);
  if (state.mode === 'degraded') {
    const step = Math.max(1, Math.ceil(settings.maxSlots / 4));
    const slots = Math.min(settings.maxSlots, state.slots + step);
    return slots >= settings.maxSlots ? change('normal', slots, why) : change('recovery', slots, why);
  }
  // recovery: one more step of slots per calm sample (calm stays at its threshold).
  const slots = Math.min(settings.maxSlots, state.slots + Math.max(1, Math.ceil(settings.maxSlots / 4)));
  if (slots >= settings.maxSlots) return change('normal', slots, why);
  return { state: { ...state, slots, calm } };
}

export interface TrendSettings {
  /** How far back trends look, ms. @default 600000 (10 min) */
  windowMs?: number;
  /** A limit a trend reaches within this time is a warning, ms. @default 3600000 (1 h) */
  horizonMs?: number;
  /** Samples a trend needs at least. @default 5 */
  minSamples?: number;
  /**
   * How much time the samples must span before memory growth counts as a leak, ms: a worker that has
   * just started (or just took work) grows for a while. @default half the window
   */
  leakSpanMs?: number;
}

export interface Trends {
  /** Memory growth (of the source the latest sample names), bytes per minute (least squares over the window); null: too few samples. */
  memoryGrowthBytesPerMin: number | null;
  /** When memory would reach its limit at that growth, ms from now; null: not growing. */
  timeUntilMemoryLimitMs: number | null;
  /** Disk use growth over the latest `2 * minSamples` samples, bytes per minute. */
  diskGrowthBytesPerMin: number | null;
  /** When the disk would be full at that growth, ms from now; null: not filling. */
  timeUntilDiskFullMs: number | null;
  /** Share of the window's samples at or over the CPU critical threshold. */
  cpuSaturatedShare: number | null;
  /** Lines for the health report, e.g. `memory grows 12 MB/min: its limit in 25 min (a leak?)`. */
  warnings: string[];
  /** What the trends add to the levels: a limit within the horizon is a warning. */
  levels: Partial<Record<ResourceKind, HealthLevel>>;
}

/** Least-squares slope of y over x (per ms), and how well a line fits (r²). */
export function slope(points: { x: number; y: number }[]): { perMs: number; r2: number } | null {
  const n = points.length;
  if (n < 2) return null;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (const p of points) {
    sxy += (p.x - mx) * (p.y - my);
    sxx += (p.x - mx) ** 2;
    syy += (p.y - my) ** 2;
  }
  if (sxx === 0) return null;
  return { perMs: sxy / sxx, r2: syy === 0 ? 1 : (sxy * sxy) / (sxx * syy) };
}

const MB = 1024 * 1024;
const MINUTE = 60_000;

function minutes(ms: number): string {
  return ms < 2 * MINUTE ? `${Math.round(ms / 1000)} s` : `${Math.round(ms / MINUTE)} min`;
}

/** The trends of `samples` (oldest first) against the thresholds. */
export function trendsOf(
  samples: readonly ResourceSample[],
  thresholds: Thresholds = DEFAULT_THRESHOLDS,
  settings: TrendSettings = {}
): Trends {
  const windowMs = settings.windowMs ?? 10 * MINUTE;
  const horizonMs = settings.horizonMs ?? 60 * MINUTE;
  const minSamples = settings.minSamples ?? 5;
  const last = samples.at(-1);
  const recent = last ? samples.filter((s) => s.at > last.at - windowMs) : [];
  const trends: Trends = {
    memoryGrowthBytesPerMin: null,
    timeUntilMemoryLimitMs: null,
    diskGrowthBytesPerMin: null,
    timeUntilDiskFullMs: null,
    cpuSaturatedShare: null,
    warnings: [],
    levels: {},
  };
  if (!last || recent.length < minSamples) return trends;

  // A leak grows steadily: a good line fit, not a sawtooth of garbage collections.
  const sameSource = recent.filter((s) => s.memorySource === last.memorySource);
  const span = last.at - (sameSource[0]?.at ?? last.at);
  const memory =
    span < (settings.leakSpanMs ?? windowMs / 2)
      ? null
      : sameSource.length >= minSamples
        ? slope(sameSource.map((s) => ({ x: s.at, y: s.memoryUsedBytes })))
        : null;
  if (memory) {
    trends.memoryGrowthBytesPerMin = Math.round(memory.perMs * MINUTE);
    const limitBytes = (last.memoryLimitBytes * thresholds.memory.critical) / 100;
    const left = limitBytes - last.memoryUsedBytes;
    if (memory.perMs > 0 && memory.r2 >= 0.8 && left > 0) {
      trends.timeUntilMemoryLimitMs = Math.round(left / memory.perMs);
      if (trends.timeUntilMemoryLimitMs <= horizonMs) {
        trends.warnings.push(
          `memory grows ${(trends.memoryGrowthBytesPerMin / MB).toFixed(1)} MB/min: ` +
            `${thresholds.memory.critical}% of its limit in ${minutes(trends.timeUntilMemoryLimitMs)} (a leak?)`
        );
        trends.levels.memory = 'warning';
      }
    }
  }
  // How fast the disk fills *now*: the latest samples only, so a burst that ended stops counting soon.
  const disk = slope(recent.slice(-2 * minSamples).map((s) => ({ x: s.at, y: s.diskUsedBytes })));
  if (disk) {
    trends.diskGrowthBytesPerMin = Math.round(disk.perMs * MINUTE);
    if (disk.perMs > 0 && last.diskFreeBytes > 0) {
      trends.timeUntilDiskFullMs = Math.round(last.diskFreeBytes / disk.perMs);
      if (trends.timeUntilDiskFullMs <= horizonMs) {
        trends.warnings.push(
          `disk ${last.diskPath} fills ${(trends.diskGrowthBytesPerMin / MB).toFixed(1)} MB/min: ` +
            `full in ${minutes(trends.timeUntilDiskFullMs)}`
        );
        trends.levels.disk = 'warning';
      }
    }
  }
  const saturated = recent.filter((s) => s.cpuPercent >= thresholds.cpu.critical).length;
  trends.cpuSaturatedShare = saturated / recent.length;
  if (trends.cpuSaturatedShare >= 0.8) {
    trends.warnings.push(
      `CPU saturated: ${Math.round(trends.cpuSaturatedShare * 100)}% of the last ${minutes(last.at - (recent[0]?.at ?? last.at))} ` +
        `at or over ${thresholds.cpu.critical}%`
    );
  }
  return trends;
}

/** A threshold pair from `"80,95"`; null when it does not parse or is not warning < critical. */
export function parseThreshold(text: string, max: number): Threshold | null {
  const parts = text.split(',').map((p) => p.trim());
  if (parts.length !== 2 || parts.some((p) => !/^\d+(\.\d+)?$/.test(p))) return null;
  const [warning, critical] = parts.map(Number) as [number, number];
  if (!(warning > 0 && warning < critical && critical <= max)) return null;
  return { warning, critical };
}
