/** Pure text formatting for the CLI: progress fields, tables and listings (no I/O, no Temporal). */
import { Format } from 'cli-progress';
import type { FailedTask, StartedTask, TaskSummary } from '../client';
import type { ActionCatalog } from '../shared/action-catalog';
import type { CheckpointRecord } from '../shared/checkpoints';
import { formatDuration } from '../shared/duration';
import { etaText, type TaskProgress } from '../shared/progress';

export const BAR_WIDTH = 30;

/** The bar's look, shared by the static bar and the live cli-progress bar. */
export const BAR_STYLE = {
  barsize: BAR_WIDTH,
  barCompleteString: '█'.repeat(BAR_WIDTH),
  barIncompleteString: '░'.repeat(BAR_WIDTH),
  barGlue: '',
};

/** A static bar drawn by cli-progress's own formatter, so it looks exactly like the live one. */
export function bar(percent: number): string {
  return Format.BarFormat(Math.min(1, Math.max(0, percent / 100)), BAR_STYLE);
}

/** The fields after the bar: percent, state, phase, step, items and speed (or started steps), ETA. */
export function progressFields(p: TaskProgress): string {
  const parts = [
    `${p.percent.toFixed(1)}%`,
    p.state + (p.pausing ? ' (pausing)' : '') + (p.cancelling ? ' (cancelling)' : ''),
    `phase ${p.phase.index + 1}/${p.phase.count} ${p.phase.title}`,
    `step ${p.step.index + 1}/${p.step.count} ${p.step.title}`,
  ];
  const running = p.running ?? [];
  if (running.length > 1) parts.push(`${running.length} steps started`);
  else if (p.items) {
    const rate = p.items.rate ? ` @ ${p.items.rate.toFixed(1)}/s` : '';
    parts.push(`${p.items.done}/${p.items.total ?? '?'} items${rate}`);
  }
  const eta = etaText(p);
  if (eta) parts.push(eta);
  return parts.join(' | ');
}

/** "elapsed 1m 05s, active 1m 05s, 43.6%/h, done about <ISO>, deadline <ISO>". */
export function timingText(p: TaskProgress): string {
  return (
    `elapsed ${formatDuration(p.elapsedMs)}, active ${formatDuration(p.activeMs)}` +
    (p.velocity.percentPerHour === null ? '' : `, ${p.velocity.percentPerHour.toFixed(1)}%/h`) +
    (p.etaAt === null ? '' : `, done about ${new Date(p.etaAt).toISOString()}`) +
    (p.deadline ? `, deadline ${p.deadline}` : '')
  );
}

/** Left-aligned columns two spaces apart, trailing spaces trimmed; one line per row. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  return [header, ...rows]
    .map(
      (row) =>
        `${row
          .map((cell, i) => cell.padEnd(widths[i] ?? 0))
          .join('  ')
          .trimEnd()}\n`
    )
    .join('');
}

/** `longrun list`: one row per task, "-" where a search attribute is not set. */
export function taskTable(tasks: readonly TaskSummary[]): string {
  if (tasks.length === 0) return 'no tasks\n';
  const header = ['TASK', 'STATE', 'PROGRESS', 'AGENT', 'PHASE', 'DURABILITY', 'TEMPORAL', 'STARTED'];
  const rows = tasks.map((t) => [
    t.taskId,
    t.state ?? '-',
    t.percent === null ? '-' : `${t.percent}%`,
    t.agent ?? '-',
    t.phase ?? '-',
    t.durability ?? '-',
    t.execution,
    new Date(t.startedAt).toISOString(),
  ]);
  return table(header, rows);
}

/** `longrun start`: started or already there, and what the spec was checked against. */
export function startedText(
  started: Pick<StartedTask, 'started' | 'taskId' | 'runId' | 'checkedAgainst'>
): string {
  return (
    `${started.started ? 'started' : 'already exists'}: ${started.taskId} (run ${started.runId})` +
    (started.checkedAgainst
      ? `; checked against worker version ${started.checkedAgainst.workerVersion}\n`
      : '; no worker has published its actions yet: checked the spec statically only\n')
  );
}

/** `longrun actions`: the newest catalog in full (inputs, optional ones with "?"), older ones named. */
export function actionsText(catalogs: readonly ActionCatalog[]): string {
  const [latest, ...older] = catalogs;
  if (!latest) return 'no worker has published its actions on this task queue yet\n';
  let text = `worker version ${latest.workerVersion} (${latest.worker}, ${latest.publishedAt}) on task queue "${latest.taskQueue}":\n`;
  for (const a of latest.actions) {
    const props = Object.keys((a.inputSchema.properties as Record<string, unknown> | undefined) ?? {});
    const required = new Set((a.inputSchema.required as string[] | undefined) ?? []);
    const fields = props.map((p) => (required.has(p) ? p : `${p}?`)).join(', ');
    text += `  ${a.name.padEnd(20)} ${a.description}\n  ${''.padEnd(20)} input: { ${fields} }\n`;
  }
  for (const c of older) text += `also seen: worker version ${c.workerVersion} (${c.publishedAt})\n`;
  return text;
}

/** `longrun checkpoints`: id, type, step and time in columns, then the label. */
export function checkpointLine(r: CheckpointRecord): string {
  const at = new Date(r.at).toISOString();
  return `${r.id.padEnd(16)} ${r.type.padEnd(10)} step ${String(r.stepIndex).padStart(4)}  ${at}  ${r.label}\n`;
}

/** `longrun pause|resume|cancel`: the state after the request; a pause says where its step stopped. */
export function steeredText(request: string, taskId: string, p: TaskProgress): string {
  const where = request === 'pause' && p.items ? ` at item ${p.items.done}/${p.items.total ?? '?'}` : '';
  return `${taskId}: ${p.state}${where}, step ${p.step.index + 1}/${p.step.count} ${p.step.title}\n`;
}

/** `longrun failed`: each dead letter with its error, last failure and the retry command to run. */
export function failedText(tasks: readonly FailedTask[]): string {
  if (tasks.length === 0) return 'no failed tasks\n';
  return tasks
    .map((t) => {
      const at = t.closedAt === null ? '-' : new Date(t.closedAt).toISOString();
      const f = t.failure;
      return (
        `${t.taskId}  failed ${at}${t.agent ? `  agent ${t.agent}` : ''}\n` +
        `  ${t.error ?? 'failed (no failure record)'}\n` +
        (f
          ? `  last failure: step ${f.stepId}, ${f.kind}, attempt ${f.attempt ?? '?'}, decision ${f.decision}\n`
          : '') +
        (t.recoveryCheckpoint
          ? `  retry: longrun retry ${t.taskId}   (from ${t.recoveryCheckpoint.id}: ${t.recoveryCheckpoint.label})\n`
          : `  retry: longrun retry ${t.taskId} --from start\n`)
      );
    })
    .join('');
}
