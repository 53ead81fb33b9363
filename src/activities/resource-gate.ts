/**
 * What a running step does about its worker's resources: it waits (minimal mode, not essential), it
 * fails as a resource failure before a disk fills up, and it reports progress less often while the
 * worker is degraded. Also the cleaner of recreatable files (temp folders of steps not running here).
 * The worker wires it to its ResourceMonitor; without one (tests, embedded use) steps ignore resources.
 */
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ResourceMonitor } from '../runtime/resource-monitor';
import { ResourceError } from './errors';
import { claimedElsewhere } from './running-steps';
import { ResumeAfterSignal } from './step-signals';

export type ResourceStop =
  /** Stop with the cursor saved and run again after `ms` (on this worker or another). */
  | { kind: 'wait'; ms: number; note: string }
  /** Fail as a resource failure: the temp folder is emptied and the step retried after the resource delay. */
  | { kind: 'fail'; message: string };

export interface StepResourceGate {
  /**
   * Waits until fewer steps run here than the worker's slots now allow, then counts this one in; call
   * the returned function when it ends. Slots reserved for polls before a smaller mode began would
   * otherwise let a burst of new steps in; a waiting step holds a Temporal slot, not the machine.
   */
  admit(signal: AbortSignal): Promise<() => void>;
  /** Checked at a step's start and at its checkpoints: why it must stop now, or null. */
  check(step: { essential: boolean }): ResourceStop | null;
  /** How many times longer than usual steps wait between progress reports now (1: normal). */
  progressFactor(): number;
}

/** The gate of a worker's monitor. `waitMs`: how long a step sent away waits before it runs again. */
export function monitorGate(monitor: ResourceMonitor, opts: { waitMs?: number } = {}): StepResourceGate {
  const waitMs = opts.waitMs ?? Math.max(5_000, 2 * monitor.intervalMs);
  const admission = new Admission(() => monitor.slots);
  monitor.onSlots(() => admission.wake());
  return {
    admit: (signal) => admission.enter(signal),
    progressFactor: () => (monitor.mode === 'degraded' || monitor.mode === 'minimal' ? 4 : 1),
    check({ essential }) {
      const why = monitor.reasons.join('; ') || `level ${monitor.level}`;
      if (monitor.mode === 'minimal' && !essential) {
        return {
          kind: 'wait',
          ms: waitMs,
          note:
            `its worker (pid ${process.pid}) runs only essential tasks (minimal mode: ${why}); ` +
            `the step waits with its cursor saved and runs again in ${Math.round(waitMs / 1000)} s`,
        };
      }
      const sample = monitor.latest;
      const fullIn = monitor.trends.timeUntilDiskFullMs;
      const diskSoon = fullIn !== null && fullIn <= 2 * Math.max(monitor.intervalMs, 1_000);
      if (sample && (monitor.levels.disk === 'critical' || diskSoon)) {
        const when = diskSoon && fullIn !== null ? `, full in about ${Math.round(fullIn / 1000)} s` : '';
        return {
          kind: 'fail',
          message:
            `the disk of ${sample.diskPath} is ${Math.round(sample.diskPercent)}% full ` +
            `(${Math.round(sample.diskFreeBytes / 1024 / 1024)} MB free${when}): the step stops before it fills`,
        };
      }
      return null;
    },
  };
}

/** Steps let in, at most `capacity()` at a time; the others wait in arrival order. */
export class Admission {
  private inside = 0;
  private readonly queue: (() => void)[] = [];

  constructor(private readonly capacity: () => number) {}

  get running(): number {
    return this.inside;
  }

  get waiting(): number {
    return this.queue.length;
  }

  async enter(signal: AbortSignal): Promise<() => void> {
    if (this.inside < this.capacity() && this.queue.length === 0) this.inside++;
    else {
      // wake() counts a waiting step in before it resolves its turn, so no newcomer slips past it.
      await new Promise<void>((resolve, reject) => {
        const turn = (): void => {
          signal.removeEventListener('abort', abort);
          resolve();
        };
        const abort = (): void => {
          const i = this.queue.indexOf(turn);
          if (i >= 0) this.queue.splice(i, 1);
          reject(
            signal.reason instanceof Error
              ? signal.reason
              : new Error('stopped while waiting for a step slot')
          );
        };
        if (signal.aborted) return abort();
        signal.addEventListener('abort', abort, { once: true });
        this.queue.push(turn);
      });
    }
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.inside--;
      this.wake();
    };
  }

  /** Lets waiting steps in, oldest first, while there are free slots. */
  wake(): void {
    while (this.queue.length > 0 && this.inside < this.capacity()) {
      this.inside++;
      this.queue.shift()?.();
    }
  }
}

/**
 * One running step's watch: its work folder measured against `workDiskBytes` every second (a walk
 * of the folder, in the background), and `check()`, which throws what the step must do now: a
 * ResumeAfterSignal (sent away, minimal mode) or a ResourceError (quota passed, disk about to fill).
 */
export function watchStepResources(opts: {
  stepId: string;
  workDir: string;
  essential: boolean;
  workDiskBytes?: number;
  gate?: StepResourceGate;
  /** Hands the latest cursor over before the step is stopped. */
  beforeStop: () => void;
}): { check(): void; measure(): Promise<void>; dispose(): void } {
  const quota = opts.workDiskBytes;
  let overQuota: string | undefined;
  let measuring = false;
  const measure = async (): Promise<void> => {
    if (quota === undefined || measuring) return;
    measuring = true;
    try {
      const bytes = await folderBytes(opts.workDir);
      overQuota =
        bytes > quota
          ? `step ${opts.stepId}: its work folder holds ${bytes} bytes, over the task's workDisk of ${quota}`
          : undefined;
    } finally {
      measuring = false;
    }
  };
  const timer = quota === undefined ? undefined : setInterval(() => void measure(), 1_000).unref();
  return {
    measure,
    check() {
      if (overQuota) throw new ResourceError(overQuota);
      const stop = opts.gate?.check({ essential: opts.essential });
      if (!stop) return;
      opts.beforeStop();
      if (stop.kind === 'wait') throw new ResumeAfterSignal(stop.ms, 'resources', stop.note);
      throw new ResourceError(`step ${opts.stepId}: ${stop.message}`);
    },
    dispose: () => clearInterval(timer),
  };
}

/** Bytes under `path` (files only; a folder that vanishes meanwhile counts as what was seen). */
export async function folderBytes(path: string): Promise<number> {
  let total = 0;
  let entries;
  try {
    entries = await readdir(path, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const entry of entries) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) total += await folderBytes(child);
    else if (entry.isFile())
      total += await stat(child).then(
        (s) => s.size,
        () => 0
      );
  }
  return total;
}

/**
 * Empties the temp folders (`<task>/<step>/tmp`, `<task>/<step>/<item>/tmp`) of every step under
 * `workRoot` that is not running, here or in another live worker sharing the folder: steps recreate
 * them, and a step that runs again starts with an empty one anyway after a resource failure.
 * Returns the bytes freed.
 */
export async function clearIdleTempDirs(
  workRoot: string,
  running: { has(workDir: string): boolean }
): Promise<number> {
  let freed = 0;
  const clear = async (workDir: string): Promise<void> => {
    if (running.has(workDir) || (await claimedElsewhere(workDir))) return;
    const tmp = join(workDir, 'tmp');
    const bytes = await folderBytes(tmp);
    if (bytes === 0) return;
    await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    freed += bytes;
  };
  const dirs = async (path: string): Promise<string[]> =>
    readdir(path, { withFileTypes: true }).then(
      (es) => es.filter((e) => e.isDirectory() && e.name !== 'tmp').map((e) => join(path, e.name)),
      () => []
    );
  for (const task of await dirs(workRoot)) {
    for (const step of await dirs(task)) {
      await clear(step);
      for (const item of await dirs(step)) await clear(item);
    }
  }
  return freed;
}
