/**
 * A worker's resource awareness, wired: the monitor (src/runtime/resource-monitor.ts), the activity
 * slots that follow its mode (./slot-supplier.ts), the step gate (src/activities/resource-gate.ts),
 * and what every mode change does: a log line, recreatable files cleared when it gets worse, and a
 * `worker.mode` webhook to LONGRUN_WEBHOOK_URLS (signed like task webhooks).
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { clearIdleTempDirs, monitorGate, type StepResourceGate } from '../activities/resource-gate';
import { runningSteps } from '../activities/running-steps';
import { ResourceMonitor } from '../runtime/resource-monitor';
import { signWebhook } from '../runtime/webhook-signing';
import type { LongrunConfig } from '../runtime/config';
import type { ModeChange } from '../shared/resources';
import { WEBHOOK_HEADERS } from '../shared/webhooks';
import { ModeSlotSupplier, modeTuner } from './slot-supplier';
import type { WorkerTuner } from '@temporalio/worker';

export const WORKER_MODE_EVENT = 'worker.mode';

export interface WorkerResources {
  monitor: ResourceMonitor;
  gate: StepResourceGate;
  slots: ModeSlotSupplier;
  tuner: WorkerTuner;
  /** Mode changes so far, and the bytes the cleaner freed. */
  stats: { changes: number; freedBytes: number };
  start(): void;
  stop(): void;
}

export interface WorkerResourcesOptions {
  config: Pick<LongrunConfig, 'resources' | 'dataDir' | 'artifactDir' | 'webhookUrls' | 'webhookSecret'>;
  identity: string;
  /** Replaces the monitor's sampler and clock (tests). */
  monitor?: Partial<ConstructorParameters<typeof ResourceMonitor>[0]>;
  log?: (line: string) => void;
}

/** The worker's resource awareness; undefined when LONGRUN_MONITOR_INTERVAL_MS=0. */
export function workerResources(opts: WorkerResourcesOptions): WorkerResources | undefined {
  const { config } = opts;
  const settings = config.resources;
  if (settings.intervalMs === 0) return undefined;
  const log = opts.log ?? ((line: string) => console.error(`longrun worker ${process.pid}: ${line}`));
  const monitor = new ResourceMonitor({
    maxSlots: settings.maxConcurrentSteps,
    paths: [config.dataDir, config.artifactDir],
    intervalMs: settings.intervalMs,
    thresholds: settings.thresholds,
    calmSamples: settings.calmSamples,
    ...(settings.memoryLimitBytes ? { memoryLimitBytes: settings.memoryLimitBytes } : {}),
    ...opts.monitor,
  });
  const gate = monitorGate(monitor);
  const slots = new ModeSlotSupplier(() => monitor.slots);
  const stats = { changes: 0, freedBytes: 0 };
  const workRoot = join(config.dataDir, 'work');
  monitor.onSlots(() => slots.wake());
  monitor.onChange((change) => {
    stats.changes++;
    log(
      `mode ${change.from} -> ${change.to} (${change.reason}); ${change.slots} of ${monitor.maxSlots} step slots`
    );
    if (change.to === 'degraded' || change.to === 'minimal') {
      void clearIdleTempDirs(workRoot, runningSteps).then(
        (bytes) => {
          stats.freedBytes += bytes;
          if (bytes > 0) log(`cleared ${bytes} bytes of temp folders of steps not running here`);
        },
        () => undefined
      );
    }
    for (const url of config.webhookUrls) {
      void postModeEvent(url, change, monitor, opts.identity, config.webhookSecret).catch((err: unknown) =>
        log(
          `worker.mode webhook to ${new URL(url).host} failed: ${err instanceof Error ? err.message : String(err)}`
        )
      );
    }
  });
  return {
    monitor,
    gate,
    slots,
    tuner: modeTuner(slots),
    stats,
    start: () => monitor.start(),
    stop: () => monitor.stop(),
  };
}

/** One POST, a second try after a second on failure: a mode event is news, not a record to keep. */
async function postModeEvent(
  url: string,
  change: ModeChange,
  monitor: ResourceMonitor,
  identity: string,
  secret: string | undefined
): Promise<void> {
  const id = `${identity}:${WORKER_MODE_EVENT}:${change.at}:${randomUUID()}`;
  const body = JSON.stringify({
    id,
    type: WORKER_MODE_EVENT,
    worker: identity,
    pid: process.pid,
    at: new Date(change.at).toISOString(),
    data: {
      ...change,
      at: undefined,
      level: monitor.level,
      levels: monitor.levels,
      maxSlots: monitor.maxSlots,
    },
  });
  const send = async (): Promise<void> => {
    const timestamp = Date.now();
    const res = await fetch(url, {
      method: 'POST',
      body,
      signal: AbortSignal.timeout(10_000),
      headers: {
        'content-type': 'application/json',
        [WEBHOOK_HEADERS.event]: WORKER_MODE_EVENT,
        [WEBHOOK_HEADERS.delivery]: id,
        [WEBHOOK_HEADERS.timestamp]: String(timestamp),
        ...(secret ? { [WEBHOOK_HEADERS.signature]: signWebhook(secret, timestamp, body) } : {}),
      },
    });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
  };
  try {
    await send();
  } catch {
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await send();
  }
}
