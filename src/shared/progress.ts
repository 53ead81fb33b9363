/**
 * Progress of a task as the `progress` query returns it, and the pure math and formatting around it.
 */
import type { LifecycleState } from './lifecycle';

export interface ItemProgress {
  done: number;
  total: number | null;
  note?: string;
}

export interface TaskProgress {
  taskId: string;
  agent: string;
  title: string;
  state: LifecycleState;
  /** 0 to 100, weighted by step weights, including item progress inside the current step when known. */
  percent: number;
  phase: { index: number; count: number; id: string; title: string };
  step: { index: number; count: number; id: string; title: string; action: string };
  /** Percentage points the current step is worth (its weight's share of the task). */
  stepShare: number;
  stepsCompleted: number;
  /** Items inside the current step, from its latest heartbeat (filled in by the client). */
  items: ItemProgress | null;
  /** Epoch ms. */
  startedAt: number;
  updatedAt: number;
  completedAt: number | null;
  /** Wall time since the task was created, and the part of it not paused, ms. */
  elapsedMs: number;
  activeMs: number;
  /** Workflow run of the task (continue-as-new starts a new one). */
  run: number;
  /** Id of the latest named checkpoint, if any. */
  lastCheckpoint: string | null;
  deadline: string | null;
  error: string | null;
}

/**
 * Weighted completion in percent: completed steps count in full, the current step by `fraction` (0..1).
 */
export function weightedPercent(weights: readonly number[], completed: number, fraction = 0): number {
  const total = weights.reduce((a, b) => a + b, 0);
  if (total <= 0) return 0;
  const done = weights.slice(0, completed).reduce((a, b) => a + b, 0);
  const current = completed < weights.length ? (weights[completed] ?? 0) * clamp01(fraction) : 0;
  return Math.min(100, ((done + current) / total) * 100);
}

export function itemFraction(items: ItemProgress | null | undefined): number {
  if (!items || !items.total || items.total <= 0) return 0;
  return clamp01(items.done / items.total);
}

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0;
}

/** `[#########-----------]` for a percentage. */
export function progressBar(percent: number, width = 24): string {
  const filled = Math.round((Math.min(100, Math.max(0, percent)) / 100) * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
}

/** One human line: bar, percent, phase, step, items. */
export function progressLine(p: TaskProgress): string {
  const parts = [
    `${progressBar(p.percent)} ${p.percent.toFixed(1)}%`,
    p.state,
    `phase ${p.phase.index + 1}/${p.phase.count} ${p.phase.title}`,
    `step ${p.step.index + 1}/${p.step.count} ${p.step.title}`,
  ];
  if (p.items) parts.push(`${p.items.done}/${p.items.total ?? '?'} items`);
  return parts.join(' | ');
}

/** Markdown for the Web UI's "Current Details". */
export function currentDetailsMarkdown(p: TaskProgress): string {
  const lines = [
    `**${p.title}** (${p.agent}) is **${p.state}**`,
    '',
    `\`${progressBar(p.percent, 30)}\` ${p.percent.toFixed(1)}%`,
    '',
    `- Phase ${p.phase.index + 1} of ${p.phase.count}: ${p.phase.title}`,
    `- Step ${p.step.index + 1} of ${p.step.count}: ${p.step.title} (\`${p.step.action}\`)`,
    `- Steps completed: ${p.stepsCompleted}`,
  ];
  if (p.error) lines.push(`- Error: ${p.error}`);
  return lines.join('\n');
}
