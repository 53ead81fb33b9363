/** `longrun health` as text: status, mode and slots, each resource's level against its thresholds, trends, changes, breakers. Pure. */
import type { HealthReport } from '../worker/health';
import { formatDuration } from '../shared/duration';
import type { ResourceKind } from '../shared/resources';

const MB = 1024 * 1024;

function valueText(
  kind: ResourceKind,
  s: NonNullable<NonNullable<HealthReport['resources']>['sample']>
): string {
  switch (kind) {
    case 'cpu':
      return `${Math.round(s.cpuPercent)}%`;
    case 'memory':
      return `${Math.round(s.memoryPercent)}% (${s.memorySource}: ${Math.round(s.memoryUsedBytes / MB)} of ${Math.round(s.memoryLimitBytes / MB)} MB)`;
    case 'disk':
      return `${Math.round(s.diskPercent)}% (${s.diskPath}: ${(s.diskFreeBytes / 1024 / MB).toFixed(1)} GB free)`;
    case 'eventLoop':
      return `${Math.round(s.eventLoopLagMs)} ms late`;
  }
}

export function healthText(h: HealthReport): string {
  const lines: string[] = [];
  const worker = h.worker ? `${h.worker.state}, ${h.worker.runningSteps} steps running` : 'no worker';
  lines.push(
    `worker ${h.pid}: ${h.status} (${worker}), up ${formatDuration(h.uptimeMs)}, RSS ${Math.round(h.memory.rssBytes / MB)} MB`
  );
  const r = h.resources;
  if (!r) {
    lines.push('resources: not watched (LONGRUN_MONITOR_INTERVAL_MS=0)');
  } else {
    lines.push(
      `mode: ${r.mode} since ${r.modeSince}, ${r.slots.now} of ${r.slots.max} step slots; level ${r.level}`
    );
    if (r.sample) {
      const unit = (k: ResourceKind) => (k === 'eventLoop' ? ' ms' : ' %');
      for (const kind of ['cpu', 'memory', 'disk', 'eventLoop'] as const) {
        const t = r.thresholds[kind];
        const name = kind === 'eventLoop' ? 'event loop' : kind;
        lines.push(
          `  ${name.padEnd(10)} ${r.levels[kind].padEnd(8)} ${valueText(kind, r.sample)}  [warning ${t.warning}, critical ${t.critical}${unit(kind)}]`
        );
      }
    } else {
      lines.push('  no sample yet');
    }
    const t = r.trends;
    const rate = (bytesPerMin: number | null) =>
      bytesPerMin === null ? 'n/a' : `${(bytesPerMin / MB).toFixed(1)} MB/min`;
    lines.push(
      `trends: memory ${rate(t.memoryGrowthBytesPerMin)}` +
        (t.timeUntilMemoryLimitMs === null ? '' : ` (limit in ${formatDuration(t.timeUntilMemoryLimitMs)})`) +
        `, disk ${rate(t.diskGrowthBytesPerMin)}` +
        (t.timeUntilDiskFullMs === null ? '' : ` (full in ${formatDuration(t.timeUntilDiskFullMs)})`) +
        `, CPU saturated ${t.cpuSaturatedShare === null ? 'n/a' : `${Math.round(t.cpuSaturatedShare * 100)}% of the window`}`
    );
    for (const reason of r.reasons) lines.push(`  ! ${reason}`);
    if (r.samplerError) lines.push(`  ! the sampler failed: ${r.samplerError}`);
    if (r.changes.length) {
      lines.push('mode changes:');
      for (const c of r.changes.slice(-5))
        lines.push(`  ${c.at} ${c.from} -> ${c.to} (${c.slots} slots): ${c.reason}`);
    }
  }
  if (h.breakers.length) {
    lines.push('circuit breakers:');
    for (const b of h.breakers) {
      const retry = b.state === 'open' ? `, trial in ${formatDuration(b.remainingMs)}` : '';
      lines.push(
        `  ${b.name}: ${b.state}${retry}, ${b.failures} failures in a row, ${b.rejected} calls refused`
      );
    }
  }
  return `${lines.join('\n')}\n`;
}
