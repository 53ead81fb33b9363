/**
 * Progress of a task as the `progress` query returns it, and the pure math and formatting around it.
 */
import { budgetLineText, type BudgetLine } from './budget';
import type { PendingApproval } from './approvals';
import { formatUsage, type ModelUsage } from './model-usage';
import type { ActivityEntry } from './activity-log';
import { hasEnded, type LifecycleState } from './lifecycle';
import type { DurationCategory } from './limits';
import type { ProgressSample } from './samples';
import { formatDuration } from './duration';
import { estimate, type ProgressPoint, type Velocity } from './velocity';

export interface ItemProgress {
  done: number;
  total: number | null;
  note?: string;
  /** Items per second over the last minute, when known. */
  rate?: number | null;
  /** When the step reported this, epoch ms (worker clock). */
  at?: number;
}

/** One step that has started and is not done: running, waiting on a durable timer, or stopped with its cursor. */
export interface RunningStepView {
  id: string;
  title: string;
  action: string;
  phaseId: string;
  /** `running`: working; `waiting`: on a durable timer (no worker held); `stopped`: cursor saved (paused). */
  state: 'running' | 'waiting' | 'stopped';
  /** Percentage points of the task this step is worth (its weight's share). */
  share: number;
  /** How much of the step is done, 0 to 1 (from its items, fan-out items or rounds). */
  fraction: number;
  /** Its items: a step's own (latest report or heartbeat), or a fan-out's items done of total. */
  items: ItemProgress | null;
  /** A `forEach` step: items in all, done, failed (skipped) and running now. */
  fanOut: { total: number; done: number; failed: number; running: number } | null;
  /** A repeating step: rounds done, of how many (null: until cancelled). */
  rounds: { done: number; of: number | null } | null;
  /** Why it waits: `quota` while a model provider's quota resets, `approval` for a person (absent for timers). */
  waitingFor?: 'quota' | 'approval' | 'resources';
  /** What its model calls have used, every schedule and item (absent before any). */
  usage?: ModelUsage;
}

export interface TaskProgress {
  taskId: string;
  agent: string;
  title: string;
  state: LifecycleState;
  /** 0 to 100, weighted by step weights, including item progress inside the current step when known. */
  percent: number;
  /** The part of `percent` from completed steps alone. */
  stepsPercent: number;
  phase: { index: number; count: number; id: string; title: string };
  step: { index: number; count: number; id: string; title: string; action: string };
  /** Percentage points the current step is worth (its weight's share of the task). */
  stepShare: number;
  stepsCompleted: number;
  /**
   * Items inside the current step: in the workflow's answer from the step's latest report (every 30 s),
   * in the client's from its latest heartbeat (about every second).
   */
  items: ItemProgress | null;
  /** Speed (percent per hour of active time, items per second) and the ETA with its confidence. */
  velocity: Velocity;
  /** Estimated completion, epoch ms, if the task kept going from now at its velocity; null if unknown. */
  etaAt: number | null;
  /** A pause was accepted and the running step is stopping. */
  pausing: boolean;
  /** A cancel was accepted and the task is stopping. */
  cancelling: boolean;
  /** The latest activity log entries (steps, checkpoints, milestones, errors, control), oldest first. */
  recent: ActivityEntry[];
  /** Progress samples over the whole task, coarser further back (at most 100). */
  history: ProgressSample[];
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
  /** The deadline (ISO 8601), as extended; null when the task has none. */
  deadline: string | null;
  /** Working time of the current phase against its limit (paused time and waits excluded), ms. */
  phaseTime?: { usedMs: number; limitMs: number } | null;
  /** Active warnings: idle step, 75% of the deadline or of the phase limit used. */
  warnings?: string[];
  error: string | null;
  /**
   * Every step that has started and is not done, in plan order (empty for tasks started before
   * engine v2, whose single running step is `step`).
   */
  running?: RunningStepView[];
  /** The task's duration category (engine v2). */
  category?: DurationCategory;
  /**
   * What the task's model calls used (running steps as last reported), with cost from the worker's
   * price table; null before the first call.
   */
  usage?: ModelUsage | null;
  /** The same by step id, for steps that made model calls (the first 500 such steps). */
  usageByStep?: Record<string, ModelUsage>;
  /**
   * The model budget, dimension by dimension: used, soft and hard limits, spend per active hour, and
   * the projected use when the work is done (and whether the hard limit comes first).
   */
  budget?: BudgetLine[];
  /** Approvals waiting for a person: answer with `longrun approve|reject TASK --id ID`. */
  approvals?: PendingApproval[];
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

/** The history samples that carry active time, as velocity points. */
export function pointsOf(history: readonly ProgressSample[]): ProgressPoint[] {
  return history.flatMap((s) =>
    s.activeMs === undefined ? [] : [{ activeMs: s.activeMs, percent: s.percent }]
  );
}

/**
 * `progress` with the running step's item progress merged in: percent then includes the part of the
 * current step already done, and velocity and ETA are recomputed from it. Pure.
 */
export function withItems(progress: TaskProgress, items: ItemProgress | null, now: number): TaskProgress {
  const running = !hasEnded(progress.state);
  const merged = running ? items : null;
  const percent = Math.min(100, progress.stepsPercent + progress.stepShare * itemFraction(merged));
  const velocity = estimate(
    pointsOf(progress.history),
    { activeMs: progress.activeMs, percent },
    merged?.rate ?? null
  );
  const etaAt = running && velocity.etaMs !== null ? now + velocity.etaMs : null;
  return { ...progress, items: merged, percent, velocity, etaAt };
}

/**
 * `progress` with percent, velocity and ETA computed again from its running steps (after a reader
 * merged fresher item progress into them). Pure.
 */
export function recomputeProgress(progress: TaskProgress, now: number): TaskProgress {
  const running = progress.running ?? [];
  const ended = hasEnded(progress.state);
  const inSteps = ended ? 0 : running.reduce((sum, r) => sum + r.share * clamp01(r.fraction), 0);
  const percent = progress.state === 'completed' ? 100 : Math.min(100, progress.stepsPercent + inSteps);
  const rate = running.length === 1 ? (running[0]?.items?.rate ?? null) : null;
  const first = running[0];
  const velocity = withItemRate(
    estimate(pointsOf(progress.history), { activeMs: progress.activeMs, percent }, rate),
    percent,
    running.length === 1 && !ended ? first : undefined
  );
  const etaAt = !ended && velocity.etaMs !== null ? now + velocity.etaMs : null;
  const items = ended ? null : (first?.items ?? null);
  return { ...progress, percent, velocity, etaAt, items, stepShare: first?.share ?? progress.stepShare };
}

/**
 * Before the task's own samples span enough time for a speed (the first reports come after 30 s), one
 * running step's item rate gives it: the step's share of the task per item, at that rate. The whole
 * task is assumed to go on at that step's pace, hence the low confidence.
 */
export function withItemRate(
  velocity: Velocity,
  percent: number,
  step: RunningStepView | undefined
): Velocity {
  const items = step?.items;
  if (velocity.percentPerHour !== null || !step || !items?.rate || !items.total || step.rounds)
    return velocity;
  const percentPerHour = items.rate * 3_600 * (step.share / items.total);
  if (!(percentPerHour > 0)) return velocity;
  return {
    ...velocity,
    percentPerHour,
    etaMs: Math.round(((100 - percent) / percentPerHour) * 3_600_000),
    confidence: 'low',
  };
}

/** A running step's heartbeat as a reader sees it (from the server's pending activities). */
export interface StepBeat {
  stepId?: string;
  item?: number;
  done: number;
  total: number | null;
  note?: string;
  rate?: number | null;
  at?: number;
}

/** A heartbeat's item counts as item progress. */
export function itemsOfBeat(beat: StepBeat): ItemProgress {
  return {
    done: beat.done,
    total: beat.total,
    ...(beat.note ? { note: beat.note } : {}),
    ...(beat.rate === undefined ? {} : { rate: beat.rate }),
    ...(beat.at === undefined ? {} : { at: beat.at }),
  };
}

/**
 * `progress` with the heartbeats of its running units merged in (fresher than the workflow's own
 * reports, which come every 30 s): a step's items, a fan-out's items in flight. Pure.
 */
export function mergeHeartbeats(
  progress: TaskProgress,
  beats: readonly StepBeat[],
  now: number
): TaskProgress {
  const running = (progress.running ?? []).map((r) => {
    const mine = beats.filter((b) => b.stepId === r.id);
    if (mine.length === 0 || r.state !== 'running') return r;
    if (r.fanOut) {
      const inFlight = mine.reduce((sum, b) => sum + itemFraction(b), 0);
      const { total, done, failed } = r.fanOut;
      return { ...r, fraction: total > 0 ? Math.min(1, (done + failed + inFlight) / total) : 0 };
    }
    const beat = mine[0] as StepBeat;
    // The step's own report may be newer than the heartbeat (e.g. just after a retry): keep the newer.
    if ((r.items?.at ?? 0) > (beat.at ?? Number.MAX_SAFE_INTEGER)) return r;
    const items = itemsOfBeat(beat);
    const fraction = r.rounds
      ? r.rounds.of === null
        ? 0
        : Math.min(1, (r.rounds.done + itemFraction(items)) / r.rounds.of)
      : itemFraction(items);
    return { ...r, items, fraction };
  });
  return recomputeProgress({ ...progress, running }, now);
}

/**
 * The workflow answers a query with the time of its last workflow task; this is the answer as of
 * `now` (a reader's clock): elapsed time grows, active time grows unless paused, ETA follows.
 */
export function progressAt(progress: TaskProgress, now: number): TaskProgress {
  if (hasEnded(progress.state) || now <= progress.updatedAt) return progress;
  const gap = now - progress.updatedAt;
  const moved = {
    ...progress,
    updatedAt: now,
    elapsedMs: progress.elapsedMs + gap,
    activeMs: progress.activeMs + (progress.state === 'paused' ? 0 : gap),
  };
  return progress.running ? recomputeProgress(moved, now) : withItems(moved, moved.items, now);
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
  if (p.items?.rate) parts.push(`${p.items.rate.toFixed(1)} items/s`);
  const eta = etaText(p);
  if (eta) parts.push(eta);
  return parts.join(' | ');
}

/** "ETA 12m 30s (medium)" while the task runs and the ETA is known, else null. */
export function etaText(p: TaskProgress): string | null {
  if (p.velocity.etaMs === null || hasEnded(p.state)) return null;
  return `ETA ${formatDuration(p.velocity.etaMs)} (${p.velocity.confidence})`;
}

/** "analyze (codebase.analyze) running: 12/40 items, 3 running" for one started step. */
export function runningStepText(r: RunningStepView): string {
  const parts = [`${r.title} (\`${r.action}\`) ${r.state}`];
  if (r.fanOut) {
    const f = r.fanOut;
    parts.push(`${f.done}/${f.total} items${f.failed ? `, ${f.failed} failed` : ''}, ${f.running} running`);
  } else if (r.items) {
    parts.push(`${r.items.done}/${r.items.total ?? '?'} items${r.items.note ? ` (${r.items.note})` : ''}`);
  }
  if (r.rounds) parts.push(`round ${r.rounds.done}${r.rounds.of === null ? '' : ` of ${r.rounds.of}`}`);
  if (r.waitingFor === 'quota') parts.push('waiting for its model quota to reset');
  if (r.waitingFor === 'approval') parts.push('waiting for approval');
  if (r.waitingFor === 'resources') parts.push('waiting for a worker with resources to spare');
  if (r.usage) parts.push(`model ${formatUsage(r.usage)}`);
  return parts.join(': ');
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
  const running = p.running ?? [];
  if (running.length > 1 || running.some((r) => r.fanOut || r.rounds)) {
    lines.push(`- ${running.length} step${running.length === 1 ? '' : 's'} started:`);
    for (const r of running) lines.push(`  - ${runningStepText(r)}`);
  } else if (p.items) {
    const rate = p.items.rate ? `, ${p.items.rate.toFixed(1)} items/s` : '';
    lines.push(
      `- Items: ${p.items.done} of ${p.items.total ?? '?'}${rate}${p.items.note ? ` (${p.items.note})` : ''}`
    );
  }
  const eta = etaText(p);
  if (eta) lines.push(`- ${eta}, active ${formatDuration(p.activeMs)} of ${formatDuration(p.elapsedMs)}`);
  if (p.deadline) lines.push(`- Deadline: ${p.deadline}`);
  if (p.usage) lines.push(`- Model: ${formatUsage(p.usage)}`);
  for (const line of p.budget ?? []) lines.push(`- Budget: ${budgetLineText(line)}`);
  for (const a of p.approvals ?? [])
    lines.push(
      `- **Approval needed** (step ${a.stepId}, id \`${a.id}\`): ${a.title}; ${a.onTimeout === 'approve' ? 'approved' : 'rejected'} by default at ${new Date(a.expiresAt).toISOString()}`
    );
  for (const warning of p.warnings ?? []) lines.push(`- **Warning:** ${warning}`);
  if (p.pausing) lines.push('- Pausing: the running step is saving its cursor');
  if (p.cancelling) lines.push('- Cancelling: stopping with a final checkpoint');
  const latest = p.recent[p.recent.length - 1];
  if (latest) lines.push(`- Latest: ${latest.message}`);
  if (p.error) lines.push(`- Error: ${p.error}`);
  return lines.join('\n');
}
