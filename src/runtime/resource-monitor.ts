/**
 * The worker's resource monitor: samples the machine (systeminformation), the process (RSS, heap),
 * the Node event loop's delay and the disks that hold the data folder and the artifact store, every
 * `intervalMs` (30 s by default), and turns the samples into health levels, trends and an operation
 * mode (src/shared/resources.ts). Whoever acts on the mode (slot supplier, steps, cleaner, webhooks)
 * subscribes with `onChange`.
 *
 * Time and the sampler are injected, so tests drive it with `tick()` and synthetic samples.
 *
 * @example
 * ```ts
 * const monitor = new ResourceMonitor({ maxSlots: 8, paths: [config.dataDir] });
 * monitor.onChange((change) => console.log(`${change.from} -> ${change.to}: ${change.reason}`));
 * monitor.start();
 * ```
 */
import type { StatsFs } from 'node:fs';
import { readFile, statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import si from 'systeminformation';
import {
  assess,
  DEFAULT_THRESHOLDS,
  initialMode,
  nextMode,
  pressureOf,
  trendsOf,
  type Assessment,
  type MemorySource,
  type ModeChange,
  type ModeState,
  type ResourceSample,
  type Thresholds,
  type Trends,
  type TrendSettings,
} from '../shared/resources';

export interface ResourceMonitorOptions {
  /** Activity slots in normal mode. */
  maxSlots: number;
  /** Folders whose disks are watched (the data folder, the artifact store). */
  paths: string[];
  /** ms between samples; 0: sample only when `tick()` is called. @default 30000 */
  intervalMs?: number;
  thresholds?: Thresholds;
  /** Points below a threshold a calm sample must be. @default 5 */
  margin?: number;
  /** Calm samples before the mode steps down one level. @default 3 */
  calmSamples?: number;
  /** The worker's own memory limit (RSS), bytes; unset: only the machine, cgroup and heap count. */
  memoryLimitBytes?: number;
  trends?: TrendSettings;
  now?: () => number;
  /** Replaces the real sampler (tests). */
  sample?: () => Promise<ResourceSample>;
}

/** What `GET /health` and `longrun health` show of the monitor. */
export interface ResourceReport {
  mode: ModeState['mode'];
  modeSince: string;
  slots: { now: number; max: number };
  level: Assessment['level'];
  levels: Assessment['levels'];
  reasons: string[];
  sample: ResourceSample | null;
  trends: Omit<Trends, 'levels'>;
  thresholds: Thresholds;
  intervalMs: number;
  /** The latest mode changes, newest last (at most 20). */
  changes: (Omit<ModeChange, 'at'> & { at: string })[];
  /** The sampler's latest error, if its latest sample failed. */
  samplerError?: string;
}

const KEEP_SAMPLES = 240;
const KEEP_CHANGES = 20;
/** Consecutive failed samples that make the level `failing`. */
const FAILING_AFTER = 3;

async function cgroupMemory(): Promise<{ used: number; limit: number } | null> {
  try {
    const [max, current] = await Promise.all([
      readFile('/sys/fs/cgroup/memory.max', 'utf8'),
      readFile('/sys/fs/cgroup/memory.current', 'utf8'),
    ]);
    const limit = Number(max.trim());
    return Number.isFinite(limit) && limit > 0 ? { used: Number(current.trim()), limit } : null;
  } catch {
    return null; // no cgroup v2 limit ("max") or not Linux
  }
}

/** The disk of `path`, or of its nearest folder that exists (a data folder is made on first use). */
async function statfsNearest(path: string): Promise<StatsFs> {
  for (let at = path; ; at = dirname(at)) {
    try {
      return await statfs(at);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(at) === at) throw err;
    }
  }
}

/** Takes one real sample: the worst disk of `paths`, the worst memory pressure, the loop's delay. */
export async function sampleMachine(opts: {
  paths: string[];
  memoryLimitBytes?: number;
  loop: IntervalHistogram;
  now: number;
}): Promise<ResourceSample> {
  const [load, mem, cgroup, ...disks] = await Promise.all([
    si.currentLoad(),
    si.mem(),
    cgroupMemory(),
    ...opts.paths.map(async (path) => ({ path, fs: await statfsNearest(path) })),
  ]);
  const proc = process.memoryUsage();
  const heapLimit = getHeapStatistics().heap_size_limit;
  const candidates: { source: MemorySource; used: number; limit: number }[] = [
    { source: 'machine', used: mem.total - mem.available, limit: mem.total },
    { source: 'heap', used: proc.heapUsed, limit: heapLimit },
  ];
  if (cgroup) candidates.push({ source: 'cgroup', ...cgroup });
  if (opts.memoryLimitBytes)
    candidates.push({ source: 'limit', used: proc.rss, limit: opts.memoryLimitBytes });
  const memory = candidates.reduce((a, b) => (b.used / b.limit > a.used / a.limit ? b : a));
  let disk = { percent: 0, used: 0, free: Number.MAX_SAFE_INTEGER, path: opts.paths[0] ?? '' };
  for (const { path, fs } of disks) {
    const total = fs.blocks * fs.bsize;
    const free = fs.bavail * fs.bsize;
    const used = total - fs.bfree * fs.bsize;
    // Percent of what a non-root process may use, as df shows it.
    const percent = used + free > 0 ? (used / (used + free)) * 100 : 0;
    if (percent >= disk.percent) disk = { percent, used, free, path };
  }
  const lag = opts.loop.count > 0 ? opts.loop.percentile(90) / 1e6 : 0;
  opts.loop.reset();
  return {
    at: opts.now,
    cpuPercent: load.currentLoad,
    memoryPercent: (memory.used / memory.limit) * 100,
    memorySource: memory.source,
    rssBytes: proc.rss,
    heapUsedBytes: proc.heapUsed,
    memoryUsedBytes: memory.used,
    memoryLimitBytes: memory.limit,
    diskPercent: disk.percent,
    diskUsedBytes: disk.used,
    diskFreeBytes: disk.free,
    diskPath: disk.path,
    eventLoopLagMs: lag,
  };
}

export class ResourceMonitor {
  readonly thresholds: Thresholds;
  readonly intervalMs: number;
  private readonly now: () => number;
  private readonly samples: ResourceSample[] = [];
  private readonly changes: ModeChange[] = [];
  private readonly listeners: ((change: ModeChange, monitor: ResourceMonitor) => void)[] = [];
  private readonly slotListeners: ((slots: number) => void)[] = [];
  private state: ModeState;
  private assessment: Assessment = {
    level: 'healthy',
    levels: { cpu: 'healthy', memory: 'healthy', disk: 'healthy', eventLoop: 'healthy' },
    reasons: [],
  };
  private trendsNow: Trends = trendsOf([]);
  private failures = 0;
  private samplerError: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private loop: IntervalHistogram | undefined;
  private ticking: Promise<void> | undefined;

  constructor(private readonly opts: ResourceMonitorOptions) {
    this.thresholds = opts.thresholds ?? DEFAULT_THRESHOLDS;
    this.intervalMs = opts.intervalMs ?? 30_000;
    this.now = opts.now ?? Date.now;
    this.state = initialMode({ maxSlots: opts.maxSlots }, this.now());
  }

  get mode(): ModeState['mode'] {
    return this.state.mode;
  }

  /** Activity slots the worker offers now. */
  get slots(): number {
    return this.state.slots;
  }

  get maxSlots(): number {
    return this.opts.maxSlots;
  }

  get level(): Assessment['level'] {
    return this.assessment.level;
  }

  get levels(): Assessment['levels'] {
    return this.assessment.levels;
  }

  get reasons(): string[] {
    return [...this.assessment.reasons, ...this.trendsNow.warnings];
  }

  get trends(): Trends {
    return this.trendsNow;
  }

  get latest(): ResourceSample | undefined {
    return this.samples.at(-1);
  }

  /** Called after every mode change, in order; a listener that throws does not stop the others. */
  onChange(listener: (change: ModeChange, monitor: ResourceMonitor) => void): void {
    this.listeners.push(listener);
  }

  /** Called whenever the slots change, with or without a mode change (recovery ramps up between changes). */
  onSlots(listener: (slots: number) => void): void {
    this.slotListeners.push(listener);
  }

  /** Samples at once and then every `intervalMs` (unless 0). */
  start(): void {
    this.loop ??= monitorEventLoopDelay({ resolution: 200 });
    this.loop.enable();
    void this.tick();
    if (this.intervalMs > 0 && !this.timer) {
      this.timer = setInterval(() => void this.tick(), this.intervalMs).unref();
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.loop?.disable();
  }

  /** Takes one sample and updates levels, trends and mode; concurrent calls share one sample. */
  tick(): Promise<void> {
    this.ticking ??= this.sampleOnce().finally(() => (this.ticking = undefined));
    return this.ticking;
  }

  private async sampleOnce(): Promise<void> {
    let sample: ResourceSample;
    try {
      this.loop ??= monitorEventLoopDelay({ resolution: 200 });
      sample = this.opts.sample
        ? await this.opts.sample()
        : await sampleMachine({
            paths: this.opts.paths,
            memoryLimitBytes: this.opts.memoryLimitBytes,
            loop: this.loop,
            now: this.now(),
          });
    } catch (err) {
      this.failures++;
      this.samplerError = err instanceof Error ? err.message : String(err);
      if (this.failures >= FAILING_AFTER) {
        const reasons = [`the resource sampler failed ${this.failures} times: ${this.samplerError}`];
        this.assessment = { ...this.assessment, level: 'failing', reasons };
        this.apply({ at: this.now(), level: 'failing', calmLevel: 'failing', reasons });
      }
      return;
    }
    this.failures = 0;
    this.samplerError = undefined;
    this.samples.push(sample);
    if (this.samples.length > KEEP_SAMPLES) this.samples.shift();
    this.trendsNow = trendsOf(this.samples, this.thresholds, this.opts.trends);
    const trendLevels = this.trendsNow.levels;
    this.assessment = assess(sample, this.thresholds, { trendLevels });
    const calm = assess(sample, this.thresholds, { margin: this.opts.margin ?? 5, trendLevels });
    this.apply({
      at: sample.at,
      level: pressureOf(this.assessment),
      calmLevel: pressureOf(calm),
      reasons: [...this.assessment.reasons, ...this.trendsNow.warnings],
    });
  }

  private apply(sample: Parameters<typeof nextMode>[1]): void {
    const { state, change } = nextMode(this.state, sample, {
      maxSlots: this.opts.maxSlots,
      calmSamples: this.opts.calmSamples,
    });
    const slotsBefore = this.state.slots;
    this.state = state;
    if (state.slots !== slotsBefore) for (const listener of this.slotListeners) listener(state.slots);
    if (!change) return;
    this.changes.push(change);
    if (this.changes.length > KEEP_CHANGES) this.changes.shift();
    for (const listener of this.listeners) {
      try {
        listener(change, this);
      } catch (err) {
        console.warn(
          `longrun: a resource mode listener failed: ${err instanceof Error ? err.message : String(err)}`
        );
      }
    }
  }

  report(): ResourceReport {
    const { levels: _levels, ...trends } = this.trendsNow;
    return {
      mode: this.state.mode,
      modeSince: new Date(this.state.since).toISOString(),
      slots: { now: this.state.slots, max: this.opts.maxSlots },
      level: this.assessment.level,
      levels: this.assessment.levels,
      reasons: this.reasons,
      sample: this.latest ?? null,
      trends,
      thresholds: this.thresholds,
      intervalMs: this.intervalMs,
      changes: this.changes.map((c) => ({ ...c, at: new Date(c.at).toISOString() })),
      ...(this.samplerError ? { samplerError: this.samplerError } : {}),
    };
  }
}
