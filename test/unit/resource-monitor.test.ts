import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Admission, clearIdleTempDirs, folderBytes, monitorGate } from '../../src/activities/resource-gate';
import { claimedElsewhere, claimWorkDir, releaseWorkDir } from '../../src/activities/running-steps';
import { ResourceMonitor, sampleMachine } from '../../src/runtime/resource-monitor';
import type { ModeChange, ResourceSample } from '../../src/shared/resources';
import { ModeSlotSupplier } from '../../src/worker/slot-supplier';
import { longrunMetrics } from '../../src/worker/metrics';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const MB = 1024 * 1024;

function sample(at: number, over: Partial<ResourceSample> = {}): ResourceSample {
  return {
    at,
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

/** A monitor fed from a queue of samples, on a clock the test moves. */
function scripted(maxSlots = 8) {
  let clock = 0;
  const queue: (Partial<ResourceSample> | Error)[] = [];
  const monitor = new ResourceMonitor({
    maxSlots,
    paths: [],
    intervalMs: 0,
    calmSamples: 2,
    now: () => clock,
    sample: () => {
      clock += 30_000;
      const next = queue.shift() ?? {};
      return next instanceof Error ? Promise.reject(next) : Promise.resolve(sample(clock, next));
    },
  });
  const changes: ModeChange[] = [];
  monitor.onChange((c) => changes.push(c));
  const feed = async (...samples: (Partial<ResourceSample> | Error)[]) => {
    for (const s of samples) {
      queue.push(s);
      await monitor.tick();
    }
  };
  return { monitor, changes, feed };
}

describe('the resource monitor', () => {
  it('moves through the modes on its samples and tells its listeners', async () => {
    const { monitor, changes, feed } = scripted();
    await feed({ memoryPercent: 85, memorySource: 'heap' });
    expect(monitor.mode).toBe('degraded');
    expect(monitor.slots).toBe(4);
    await feed({ memoryPercent: 93, memorySource: 'heap' });
    expect(monitor.mode).toBe('minimal');
    await feed({}, {}, {}, {}, {}, {});
    expect(changes.map((c) => `${c.from}->${c.to}`)).toEqual([
      'normal->degraded',
      'degraded->minimal',
      'minimal->degraded',
      'degraded->recovery',
      'recovery->normal',
    ]);
    expect(changes[0]?.reason).toBe('memory 85% (heap) >= 80% warning');
    const report = monitor.report();
    expect(report).toMatchObject({ mode: 'normal', level: 'healthy', slots: { now: 8, max: 8 } });
    expect(report.changes).toHaveLength(5);
    expect(report.thresholds.memory).toEqual({ warning: 80, critical: 90 });
  });

  it('is failing after three failed samples in a row, and recovers when sampling works again', async () => {
    const { monitor, feed } = scripted();
    await feed(new Error('EIO'), new Error('EIO'));
    expect(monitor.level).toBe('healthy');
    await feed(new Error('EIO'));
    expect(monitor.level).toBe('failing');
    expect(monitor.mode).toBe('minimal');
    expect(monitor.report().samplerError).toBe('EIO');
    await feed({});
    expect(monitor.level).toBe('healthy');
  });

  it('samples the real machine: percentages in range, the watched disk, the loop', async () => {
    const loop = monitorEventLoopDelay({ resolution: 20 });
    loop.enable();
    const s = await sampleMachine({ paths: [tmpdir()], loop, now: 1, memoryLimitBytes: 10 * 1024 * MB });
    loop.disable();
    expect(s.cpuPercent).toBeGreaterThanOrEqual(0);
    expect(s.cpuPercent).toBeLessThanOrEqual(100);
    expect(s.memoryPercent).toBeGreaterThan(0);
    expect(s.diskPercent).toBeGreaterThan(0);
    expect(s.diskFreeBytes).toBeGreaterThan(0);
    expect(s.diskPath).toBe(tmpdir());
    expect(s.rssBytes).toBeGreaterThan(10 * MB);
  });
});

describe('the step gate', () => {
  it('sends non-essential steps away in minimal mode and fails steps before the disk fills', async () => {
    const { monitor, feed } = scripted();
    const gate = monitorGate(monitor, { waitMs: 60_000 });
    expect(gate.check({ essential: false })).toBeNull();
    await feed({ memoryPercent: 93 });
    expect(gate.check({ essential: true })).toBeNull();
    const stop = gate.check({ essential: false });
    expect(stop).toMatchObject({ kind: 'wait', ms: 60_000 });
    expect(stop?.kind === 'wait' && stop.note).toMatch(
      /runs only essential tasks \(minimal mode: memory 93% \(machine\) >= 90% critical\)/
    );
    expect(gate.progressFactor()).toBe(4);
    await feed({ diskPercent: 96, diskFreeBytes: 20 * MB });
    const full = gate.check({ essential: true });
    expect(full).toMatchObject({ kind: 'fail' });
    expect(full?.kind === 'fail' && full.message).toMatch(/the disk of \/data is 96% full \(20 MB free\)/);
  });
});

describe('step slots by mode', () => {
  const ctx = {} as never;

  it('reserves up to the capacity, waits beyond it, and wakes when a slot is released or capacity grows', async () => {
    let capacity = 2;
    const slots = new ModeSlotSupplier(() => capacity);
    const abort = new AbortController();
    await slots.reserveSlot(ctx, abort.signal);
    expect(slots.tryReserveSlot(ctx)).not.toBeNull();
    expect(slots.tryReserveSlot(ctx)).toBeNull();
    let third = false;
    const pending = slots.reserveSlot(ctx, abort.signal).then(() => (third = true));
    await new Promise((r) => setImmediate(r));
    expect(third).toBe(false);
    capacity = 3;
    slots.wake();
    await pending;
    expect(slots.reserved).toBe(3);
    capacity = 1;
    slots.releaseSlot(ctx);
    slots.releaseSlot(ctx);
    expect(slots.tryReserveSlot(ctx)).toBeNull(); // 1 reserved, capacity 1
    const aborted = slots.reserveSlot(ctx, abort.signal);
    abort.abort(new Error('worker stopping'));
    await expect(aborted).rejects.toThrow('worker stopping');
  });
});

describe('step admission', () => {
  const tick = () => new Promise((r) => setImmediate(r));

  it('lets in at most the capacity, the waiting oldest first, none slipping past them', async () => {
    let capacity = 3;
    const admission = new Admission(() => capacity);
    const signal = new AbortController().signal;
    const inside = await Promise.all([1, 2, 3].map(() => admission.enter(signal)));
    capacity = 1; // the mode dropped: new steps wait until fewer than one run
    const order: string[] = [];
    const a = admission.enter(signal).then((leave) => (order.push('a'), leave));
    const b = admission.enter(signal).then((leave) => (order.push('b'), leave));
    await tick();
    inside[0]?.();
    inside[1]?.();
    await tick();
    expect(order).toEqual([]); // two left, one still runs: at capacity
    inside[2]?.();
    await tick();
    expect(order).toEqual(['a']);
    expect(admission.running).toBe(1);
    const leaveA = await a;
    leaveA();
    leaveA(); // leaving twice frees one slot
    const leaveB = await b;
    expect(order).toEqual(['a', 'b']);
    expect(admission.running).toBe(1);
    // A newcomer while b runs waits, and capacity growing (recovery) lets it in at once.
    let c = false;
    void admission.enter(signal).then(() => (c = true));
    await tick();
    expect(c).toBe(false);
    capacity = 2;
    admission.wake();
    await tick();
    expect(c).toBe(true);
    leaveB();
  });

  it('gives up the wait when the step is stopped', async () => {
    const admission = new Admission(() => 1);
    const signal = new AbortController().signal;
    await admission.enter(signal);
    const stop = new AbortController();
    const waiting = admission.enter(stop.signal);
    expect(admission.waiting).toBe(1);
    stop.abort(new Error('paused'));
    await expect(waiting).rejects.toThrow('paused');
    expect(admission.waiting).toBe(0);
    expect(admission.running).toBe(1);
  });
});

describe('recreatable files', () => {
  it('empties temp folders of steps not running here, and only those', async () => {
    const root = await mkdtemp(join(tmpdir(), 'longrun-clean-'));
    try {
      const idle = join(root, 'task-a', 'step-1');
      const item = join(root, 'task-a', 'fan', '3');
      const busy = join(root, 'task-b', 'step-1');
      for (const dir of [idle, item, busy]) {
        await mkdir(join(dir, 'tmp'), { recursive: true });
        await writeFile(join(dir, 'tmp', 'scratch.bin'), Buffer.alloc(1000));
        await writeFile(join(dir, 'keep.json'), '{}');
      }
      const freed = await clearIdleTempDirs(root, new Set([busy]));
      expect(freed).toBe(2000);
      expect(await readdir(idle)).toEqual(['keep.json']);
      expect(await readdir(item)).toEqual(['keep.json']);
      expect((await readdir(busy)).sort()).toEqual(['keep.json', 'tmp']);
      expect(await folderBytes(root)).toBe(1000 + 3 * 2);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
  it('leaves a step that another live worker runs on the shared data folder, and clears it once that worker is gone', async () => {
    const root = await mkdtemp(join(tmpdir(), 'longrun-clean-'));
    // A real process stands in for the other worker: its pid is in the step's claim.
    const other = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    try {
      const step = join(root, 'task-c', 'step-1');
      await mkdir(join(step, 'tmp'), { recursive: true });
      await writeFile(join(step, 'tmp', 'scratch.bin'), Buffer.alloc(1000));
      await writeFile(join(step, '.running'), String(other.pid));
      expect(await clearIdleTempDirs(root, new Set())).toBe(0);
      expect(await readdir(join(step, 'tmp'))).toEqual(['scratch.bin']);

      const gone = new Promise((resolve) => other.once('exit', resolve));
      other.kill('SIGKILL'); // as a crash would: the claim stays behind
      await gone;
      expect(await clearIdleTempDirs(root, new Set())).toBe(1000);
      expect(await readdir(step)).toEqual(['.running']);
    } finally {
      other.kill('SIGKILL');
      await rm(root, { recursive: true, force: true });
    }
  });

  it('claims a work folder for this worker while a step runs and releases only its own claim', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'longrun-claim-'));
    try {
      await claimWorkDir(dir);
      expect(await readFile(join(dir, '.running'), 'utf8')).toBe(String(process.pid));
      expect(await claimedElsewhere(dir)).toBe(false); // this process's own claim
      await releaseWorkDir(dir);
      expect(await readdir(dir)).toEqual([]);
      await writeFile(join(dir, '.running'), '1'); // taken since by another process (pid 1 lives)
      expect(await claimedElsewhere(dir)).toBe(true);
      await releaseWorkDir(dir);
      expect(await readFile(join(dir, '.running'), 'utf8')).toBe('1');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('metrics', () => {
  it('writes the Prometheus text format with longrun names, labels escaped', async () => {
    const { monitor, feed } = scripted();
    await feed({ memoryPercent: 85 });
    const text = longrunMetrics({
      now: () => 10_000,
      identity: 'w"1',
      steps: [
        { state: 'running', taskId: 'task-a', stepId: 'scan', item: null, startedAt: 0, checkpointAt: 4_000 },
        { state: 'waiting', taskId: 'task-b', stepId: 'scan', item: 3, startedAt: 0, checkpointAt: 9_000 },
      ],
      monitor,
      stats: { changes: 1, freedBytes: 0 },
      breakers: [],
      model: new Map([
        [
          'gpt-4o',
          {
            calls: 2,
            reused: 0,
            promptTokens: 10,
            completionTokens: 5,
            cachedTokens: 0,
            costUsd: 0.5,
            estimatedCalls: 0,
            unpricedCalls: 0,
            latencyMs: 1500,
          },
        ],
      ]),
      tasks: { executing: 3, completed: 7 },
      taskQueue: 'reviews',
    });
    expect(text).toContain('# TYPE longrun_worker_mode gauge\n');
    expect(text).toContain('longrun_worker_mode{mode="degraded"} 1\n');
    expect(text).toContain('longrun_worker_mode{mode="normal"} 0\n');
    expect(text).toContain('longrun_worker_info{identity="w\\"1",pid=');
    expect(text).toContain('longrun_step_checkpoint_age_seconds{task_id="task-a",step_id="scan"} 6\n');
    expect(text).toContain('longrun_resource_level{resource="memory"} 1\n');
    expect(text).toContain('longrun_tasks{task_queue="reviews",state="executing"} 3\n');
    expect(text).toContain('longrun_worker_steps{state="running"} 1\n');
    expect(text).toContain('longrun_worker_steps{state="waiting"} 1\n');
    expect(text).not.toContain('task_id="task-b"'); // a step waiting for a slot saves no cursor yet
    expect(text).toContain('longrun_model_tokens_total{model="gpt-4o",kind="completion"} 5\n');
    expect(text).toContain('longrun_model_latency_seconds_total{model="gpt-4o"} 1.5\n');
    // Every sample line is `name{labels} value` under a TYPE of its family.
    for (const line of text.trim().split('\n')) {
      expect(line).toMatch(
        /^(# (HELP|TYPE) longrun_\w+ .+|longrun_\w+(\{.*\})? [-+\d.eE]+|longrun_\w+(\{.*\})? (\+Inf|NaN))$/
      );
    }
  });
});
