/**
 * The worker's Prometheus metrics (`GET /metrics` on the health server): the SDK's own (Runtime
 * telemetry, when the worker installed it with a Prometheus address) followed by longrun's: tasks by
 * state, running steps and their checkpoint age, the resource mode, levels and trends, the circuit
 * breakers and model usage. Names follow Prometheus conventions (`_total` counters, base units).
 * docs/operating.md lists them.
 */
import { breakerStates, type BreakerStatus } from '../activities/circuit-breakers';
import { workerModelUsage } from '../activities/model/worker-usage';
import { runningSteps, type RunningStep } from '../activities/running-steps';
import type { LongrunWorker } from './factory';
import type { ResourceMonitor } from '../runtime/resource-monitor';
import { LIFECYCLE_STATES, type LifecycleState } from '../shared/lifecycle';
import type { ModelUsage } from '../shared/model-usage';
import { RESOURCE_KINDS, HEALTH_LEVELS, WORKER_MODES } from '../shared/resources';
import { visibilityQuery } from '../shared/visibility-query';

type Labels = Record<string, string | number | null>;

/** Builds the text exposition format: one HELP and TYPE per metric family, then its samples. */
class Exposition {
  private readonly lines: string[] = [];
  family(name: string, type: 'gauge' | 'counter', help: string, samples: [Labels, number][]): void {
    if (samples.length === 0) return;
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples)
      this.lines.push(`${name}${labelText(labels)} ${formatValue(value)}`);
  }
  text(): string {
    return this.lines.length ? `${this.lines.join('\n')}\n` : '';
  }
}

function labelText(labels: Labels): string {
  const parts = Object.entries(labels)
    .filter(([, v]) => v !== null)
    .map(([k, v]) => `${k}="${String(v).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

function formatValue(v: number): string {
  return Number.isFinite(v) ? String(v) : v > 0 ? '+Inf' : v < 0 ? '-Inf' : 'NaN';
}

export interface MetricsSources {
  now?: () => number;
  identity: string;
  steps: Iterable<RunningStep>;
  monitor?: ResourceMonitor;
  stats?: { changes: number; freedBytes: number };
  breakers: BreakerStatus[];
  model: ReadonlyMap<string, ModelUsage>;
  /** Tasks on the worker's queue by lifecycle state (visibility counts); absent when they could not be read. */
  tasks?: Partial<Record<LifecycleState, number>>;
  /** The queue `tasks` counts. */
  taskQueue?: string;
}

const STEP_STATES: readonly RunningStep['state'][] = ['running', 'waiting'];
const BREAKER_STATE_VALUE = { closed: 0, 'half-open': 1, open: 2 } as const;

/** longrun's metrics, in the Prometheus text format. */
export function longrunMetrics(src: MetricsSources): string {
  const now = (src.now ?? Date.now)();
  const m = new Exposition();
  m.family('longrun_worker_info', 'gauge', 'This worker (always 1).', [
    [{ identity: src.identity, pid: process.pid }, 1],
  ]);
  if (src.tasks) {
    m.family(
      'longrun_tasks',
      'gauge',
      // Every worker of a queue reports the same count: aggregate with max, not sum.
      "Tasks on this worker's task queue by longrun state (the same on each of its workers: use max).",
      LIFECYCLE_STATES.filter((s) => src.tasks?.[s] !== undefined).map((s) => [
        { task_queue: src.taskQueue ?? null, state: s },
        src.tasks?.[s] ?? 0,
      ])
    );
  }
  const steps = [...src.steps];
  m.family(
    'longrun_worker_steps',
    'gauge',
    'Steps on this worker: running, or waiting for a step slot (fewer slots in degraded and minimal mode).',
    STEP_STATES.map((state) => [{ state }, steps.filter((s) => s.state === state).length])
  );
  m.family(
    'longrun_step_checkpoint_age_seconds',
    'gauge',
    'Time since each running step last saved a cursor.',
    steps
      .filter((s) => s.state === 'running')
      .map((s) => [{ task_id: s.taskId, step_id: s.stepId, item: s.item }, (now - s.checkpointAt) / 1000])
  );
  const mon = src.monitor;
  if (mon) {
    m.family(
      'longrun_worker_mode',
      'gauge',
      'The worker operation mode (1 for the current one).',
      WORKER_MODES.map((mode) => [{ mode }, mon.mode === mode ? 1 : 0])
    );
    m.family('longrun_worker_step_slots', 'gauge', 'Step slots the worker offers in its current mode.', [
      [{}, mon.slots],
    ]);
    m.family('longrun_worker_step_slots_max', 'gauge', 'Step slots in normal mode.', [[{}, mon.maxSlots]]);
    m.family('longrun_worker_mode_changes_total', 'counter', 'Mode changes since the worker started.', [
      [{}, src.stats?.changes ?? 0],
    ]);
    m.family(
      'longrun_worker_cleared_bytes_total',
      'counter',
      'Bytes of temp folders cleared under pressure.',
      [[{}, src.stats?.freedBytes ?? 0]]
    );
    m.family(
      'longrun_resource_level',
      'gauge',
      `Health level per resource: ${HEALTH_LEVELS.map((l, i) => `${i} ${l}`).join(', ')}.`,
      RESOURCE_KINDS.map((r) => [{ resource: r }, HEALTH_LEVELS.indexOf(mon.levels[r])])
    );
    const s = mon.latest;
    if (s) {
      m.family('longrun_resource_usage_ratio', 'gauge', 'Share in use (cpu, memory, disk), 0 to 1.', [
        [{ resource: 'cpu' }, s.cpuPercent / 100],
        [{ resource: 'memory', source: s.memorySource }, s.memoryPercent / 100],
        [{ resource: 'disk', path: s.diskPath }, s.diskPercent / 100],
      ]);
      m.family('longrun_event_loop_lag_seconds', 'gauge', 'Event-loop delay (p90 over the last interval).', [
        [{}, s.eventLoopLagMs / 1000],
      ]);
      m.family('longrun_disk_free_bytes', 'gauge', 'Free bytes on the fullest watched disk.', [
        [{ path: s.diskPath }, s.diskFreeBytes],
      ]);
      m.family('longrun_process_resident_memory_bytes', 'gauge', "The worker's RSS at the last sample.", [
        [{}, s.rssBytes],
      ]);
    }
    m.family(
      'longrun_resource_threshold_ratio',
      'gauge',
      'Thresholds of cpu, memory and disk, 0 to 1.',
      (['cpu', 'memory', 'disk'] as const).flatMap((r) =>
        (['warning', 'critical'] as const).map((level): [Labels, number] => [
          { resource: r, level },
          mon.thresholds[r][level] / 100,
        ])
      )
    );
    const t = mon.trends;
    if (t.memoryGrowthBytesPerMin !== null) {
      m.family('longrun_memory_growth_bytes_per_second', 'gauge', 'Memory growth over the trend window.', [
        [{}, t.memoryGrowthBytesPerMin / 60],
      ]);
    }
    if (t.timeUntilDiskFullMs !== null) {
      m.family('longrun_disk_full_in_seconds', 'gauge', 'When the disk fills at its current growth.', [
        [{}, t.timeUntilDiskFullMs / 1000],
      ]);
    }
  }
  m.family(
    'longrun_breaker_state',
    'gauge',
    'Circuit breaker state: 0 closed, 1 half-open, 2 open.',
    src.breakers.map((b) => [{ breaker: b.name }, BREAKER_STATE_VALUE[b.state]])
  );
  m.family(
    'longrun_breaker_calls_total',
    'counter',
    'Calls a circuit let through.',
    src.breakers.map((b) => [{ breaker: b.name }, b.calls])
  );
  m.family(
    'longrun_breaker_rejected_total',
    'counter',
    'Calls an open circuit refused.',
    src.breakers.map((b) => [{ breaker: b.name }, b.rejected])
  );
  const models = [...src.model.entries()];
  m.family(
    'longrun_model_calls_total',
    'counter',
    'Model calls answered (and billed) by the provider.',
    models.map(([model, u]) => [{ model }, u.calls])
  );
  m.family(
    'longrun_model_tokens_total',
    'counter',
    'Model tokens by kind (cached counts within prompt).',
    models.flatMap(([model, u]): [Labels, number][] => [
      [{ model, kind: 'prompt' }, u.promptTokens],
      [{ model, kind: 'completion' }, u.completionTokens],
      [{ model, kind: 'cached' }, u.cachedTokens],
    ])
  );
  m.family(
    'longrun_model_cost_usd_total',
    'counter',
    'Model cost from the price table, US dollars.',
    models.map(([model, u]) => [{ model }, u.costUsd])
  );
  m.family(
    'longrun_model_latency_seconds_total',
    'counter',
    'Time spent waiting for model answers.',
    models.map(([model, u]) => [{ model }, u.latencyMs / 1000])
  );
  return m.text();
}

/**
 * Counts a queue's tasks by LongrunState with one visibility count per state, at most every
 * `maxAgeMs`. The queue, not the namespace: workers of other queues count theirs.
 */
export function taskCounter(
  count: (query: string) => Promise<number>,
  taskQueue: string,
  maxAgeMs = 30_000
): () => Promise<Partial<Record<LifecycleState, number>> | undefined> {
  const byState = (state: LifecycleState): string =>
    visibilityQuery([
      ['TaskQueue', '=', taskQueue],
      ['LongrunState', '=', state],
    ]);
  let cached: { at: number; counts: Partial<Record<LifecycleState, number>> } | undefined;
  return async () => {
    if (cached && Date.now() - cached.at < maxAgeMs) return cached.counts;
    try {
      const entries = await Promise.all(
        LIFECYCLE_STATES.map(async (s) => [s, await count(byState(s))] as const)
      );
      cached = { at: Date.now(), counts: Object.fromEntries(entries) };
      return cached.counts;
    } catch {
      return cached?.counts; // visibility unavailable: the rest of the metrics still answer
    }
  };
}

/**
 * The `GET /metrics` text of a running worker: the SDK's exporter (`sdkMetricsUrl`, when the runtime
 * has one) followed by longrun's.
 */
export function workerMetrics(
  lw: Pick<LongrunWorker, 'worker' | 'connection' | 'resources' | 'identity'>,
  opts: { namespace: string; taskQueue: string; sdkMetricsUrl?: string }
): () => Promise<string> {
  const countTasks = taskCounter(async (query) => {
    const res = await lw.connection.workflowService.countWorkflowExecutions({
      namespace: opts.namespace,
      query,
    });
    return Number(res.count ?? 0);
  }, opts.taskQueue);
  return async () => {
    const [sdk, tasks] = await Promise.all([
      opts.sdkMetricsUrl
        ? fetch(opts.sdkMetricsUrl, { signal: AbortSignal.timeout(5_000) }).then(
            (r) => r.text(),
            () => '# the SDK metrics exporter did not answer\n'
          )
        : '',
      countTasks(),
    ]);
    return (
      sdk +
      longrunMetrics({
        identity: lw.identity,
        steps: runningSteps.values(),
        ...(lw.resources ? { monitor: lw.resources.monitor, stats: lw.resources.stats } : {}),
        breakers: breakerStates(),
        model: workerModelUsage,
        ...(tasks ? { tasks, taskQueue: opts.taskQueue } : {}),
      })
    );
  };
}
