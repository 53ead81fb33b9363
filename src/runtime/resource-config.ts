/** The worker's resource settings (LONGRUN_MONITOR_*, LONGRUN_*_THRESHOLDS, ...): env shape and reader. */
import { z } from 'zod';
import { DEFAULT_THRESHOLDS, parseThreshold, type Threshold, type Thresholds } from '../shared/resources';

function thresholdVar(kind: keyof Thresholds, max: number, unit: string) {
  const d = DEFAULT_THRESHOLDS[kind];
  return z
    .string()
    .optional()
    .transform((text, ctx): Threshold => {
      if (text === undefined || text.trim() === '') return d;
      const t = parseThreshold(text, max);
      if (!t) {
        ctx.addIssue({
          code: 'custom',
          message: `must be "warning,critical" ${unit}, 0 < warning < critical <= ${max} (e.g. "${d.warning},${d.critical}")`,
        });
        return z.NEVER;
      }
      return t;
    });
}

export const ResourceEnvShape = {
  /** How often the worker samples CPU, memory, disk and its event loop, ms; 0: no monitor. @default 30000 */
  LONGRUN_MONITOR_INTERVAL_MS: z.coerce
    .number()
    .int()
    .refine((v) => v === 0 || (v >= 100 && v <= 3_600_000), 'must be 0 (off) or 100 to 3600000')
    .default(30_000),
  /** CPU thresholds, percent of all cores: "warning,critical". @default "80,95" */
  LONGRUN_CPU_THRESHOLDS: thresholdVar('cpu', 100, 'percent'),
  /** Memory thresholds, percent. @default "80,90" */
  LONGRUN_MEMORY_THRESHOLDS: thresholdVar('memory', 100, 'percent'),
  /** Disk thresholds (data folder, artifact store), percent. @default "80,95" */
  LONGRUN_DISK_THRESHOLDS: thresholdVar('disk', 100, 'percent'),
  /** Event-loop delay thresholds, ms. @default "250,1000" */
  LONGRUN_EVENT_LOOP_THRESHOLDS: thresholdVar('eventLoop', 60_000, 'ms'),
  /** The worker's own memory limit (its RSS), MB; memory percent is the worst of it, the machine and the heap. */
  LONGRUN_MEMORY_LIMIT_MB: z.coerce.number().int().min(16).max(16_777_216).optional(),
  /** Calm samples before the worker's mode steps down one level. @default 3 */
  LONGRUN_CALM_SAMPLES: z.coerce.number().int().min(1).max(100).default(3),
  /** How long a step that failed for lack of a resource (disk, memory, quota) waits before its retry, ms. @default 60000 */
  LONGRUN_RESOURCE_RETRY_MS: z.coerce.number().int().min(100).max(86_400_000).default(60_000),
  /** Steps (activities) the worker runs at once in normal mode. @default 100 */
  LONGRUN_MAX_CONCURRENT_STEPS: z.coerce.number().int().min(1).max(10_000).default(100),
};

export interface ResourceSettings {
  /** 0: no monitor. */
  intervalMs: number;
  thresholds: Thresholds;
  memoryLimitBytes: number | undefined;
  calmSamples: number;
  maxConcurrentSteps: number;
  resourceRetryMs: number;
}

type ResourceEnv = z.output<z.ZodObject<typeof ResourceEnvShape>>;

export function resourceSettingsOf(e: ResourceEnv): ResourceSettings {
  return {
    intervalMs: e.LONGRUN_MONITOR_INTERVAL_MS,
    thresholds: {
      cpu: e.LONGRUN_CPU_THRESHOLDS,
      memory: e.LONGRUN_MEMORY_THRESHOLDS,
      disk: e.LONGRUN_DISK_THRESHOLDS,
      eventLoop: e.LONGRUN_EVENT_LOOP_THRESHOLDS,
    },
    memoryLimitBytes:
      e.LONGRUN_MEMORY_LIMIT_MB === undefined ? undefined : e.LONGRUN_MEMORY_LIMIT_MB * 1024 * 1024,
    calmSamples: e.LONGRUN_CALM_SAMPLES,
    maxConcurrentSteps: e.LONGRUN_MAX_CONCURRENT_STEPS,
    resourceRetryMs: e.LONGRUN_RESOURCE_RETRY_MS,
  };
}
