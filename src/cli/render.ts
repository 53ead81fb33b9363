/**
 * The one way the CLI draws a task's progress: `status` prints `statusText` (whose second line is
 * `progressLine`), `watch` feeds a `ProgressRenderer` (a live bar on a terminal, else one
 * `progressLine` per change, or JSON lines).
 */
import { Presets, SingleBar } from 'cli-progress';
import { formatActivity } from '../shared/activity-log';
import { formatDuration } from '../shared/duration';
import { formatUsage, totalTokens } from '../shared/model-usage';
import { budgetLineText } from '../shared/budget';
import { runningStepText, type TaskProgress } from '../shared/progress';
import { BAR_STYLE, bar, progressFields, timingText } from './format';

/** Bar and fields on one line: the static form of the live bar. */
export function progressLine(p: TaskProgress): string {
  return `${bar(p.percent)} ${progressFields(p)}`;
}

/** `longrun status`: title, bar line, timing, counts, limits, started steps, warnings, recent activity. */
export function statusText(taskId: string, execution: string, p: TaskProgress | null): string {
  if (!p) return `${taskId}: ${execution} (no progress: no worker answered)\n`;
  const lines = [
    `${p.title} (${taskId}, ${p.agent}): ${p.state}, Temporal status ${execution}`,
    progressLine(p),
    timingText(p),
    `steps completed ${p.stepsCompleted}/${p.step.count}, run ${p.run}, last checkpoint ${p.lastCheckpoint ?? 'none'}`,
  ];
  if (p.phaseTime) {
    lines.push(
      `phase time ${formatDuration(p.phaseTime.usedMs)} of its ${formatDuration(p.phaseTime.limitMs)} limit`
    );
  }
  if (p.usage) lines.push(`model usage ${formatUsage(p.usage)}`);
  const bySteps = Object.entries(p.usageByStep ?? {});
  // One step's figures are the task's; several: the five that cost most (then most tokens).
  if (bySteps.length > 1) {
    const top = bySteps
      .sort(([, a], [, b]) => b.costUsd - a.costUsd || totalTokens(b) - totalTokens(a))
      .slice(0, 5);
    for (const [id, u] of top) lines.push(`  step ${id}: ${formatUsage(u)}`);
    if (bySteps.length > top.length) lines.push(`  and ${bySteps.length - top.length} more steps`);
  }
  for (const line of p.budget ?? []) lines.push(`budget ${budgetLineText(line)}`);
  for (const a of p.approvals ?? []) {
    const by = `${a.onTimeout === 'approve' ? 'approved' : 'rejected'} by default at ${new Date(a.expiresAt).toISOString()}`;
    lines.push(
      `approval needed (step ${a.stepId}): ${a.title}; ${by}; answer: longrun approve|reject ${taskId} --id ${a.id}`
    );
  }
  const running = p.running ?? [];
  if (running.length > 1 || running.some((r) => r.fanOut || r.rounds || r.waitingFor)) {
    lines.push('started steps:', ...running.map((r) => `  ${runningStepText(r).replace(/`/g, '')}`));
  }
  for (const warning of p.warnings ?? []) lines.push(`warning: ${warning}`);
  if (p.error) lines.push(`error: ${p.error}`);
  if (p.recent.length) lines.push('recent:', ...p.recent.slice(-5).map((e) => `  ${formatActivity(e)}`));
  return `${lines.join('\n')}\n`;
}

/** live: one bar redrawn in place; lines: a `progressLine` per update; json: a JSON object per update. */
export type RenderMode = 'live' | 'lines' | 'json';

/** Live on a terminal unless JSON is asked for; plain lines when the output is a file or a pipe. */
export function renderModeFor(json: boolean, out: NodeJS.WriteStream): RenderMode {
  if (json) return 'json';
  return out.isTTY === true ? 'live' : 'lines';
}

export class ProgressRenderer {
  private readonly liveBar: SingleBar | undefined;

  constructor(
    private readonly mode: RenderMode,
    private readonly out: NodeJS.WritableStream = process.stdout
  ) {
    this.liveBar =
      mode === 'live'
        ? new SingleBar(
            {
              ...BAR_STYLE,
              format: '{bar} {fields}',
              hideCursor: true,
              clearOnComplete: false,
              linewrap: false,
              stream: out,
            },
            Presets.shades_classic
          )
        : undefined;
  }

  update(p: TaskProgress): void {
    if (this.mode === 'json') this.out.write(`${JSON.stringify(p)}\n`);
    else if (!this.liveBar) this.out.write(`${progressLine(p)}\n`);
    else if (!this.liveBar.isActive) this.liveBar.start(100, p.percent, { fields: progressFields(p) });
    else this.liveBar.update(p.percent, { fields: progressFields(p) });
  }

  /** Leaves the live bar's last state on screen and moves to the next line. */
  stop(): void {
    this.liveBar?.stop();
  }
}
