/**
 * What a task shows: the `progress` answer (every started step with its share and items), the Web
 * UI's Current Details and the search attributes, written only when a value changed.
 */
import { addUsage, type ModelUsage } from '../../shared/model-usage';
import { budgetLimits, budgetLines, formatAmount } from '../../shared/budget';
import { setCurrentDetails, upsertSearchAttributes } from '@temporalio/workflow';
import type { SearchAttributePair } from '@temporalio/common';
import { formatDuration } from '../../shared/duration';
import { durations, hasEnded } from '../../shared/lifecycle';
import { phaseLimitOf, phaseUsedMs } from '../../shared/limits';
import {
  currentDetailsMarkdown,
  itemFraction,
  recomputeProgress,
  type RunningStepView,
  type TaskProgress,
} from '../../shared/progress';
import { countIndices, hasIndex } from '../../shared/ranges';
import {
  LongrunAgent,
  LongrunDurability,
  LongrunPhase,
  LongrunProgress,
  LongrunState,
} from '../../shared/search-attributes';
import { WAIT_ACTION } from '../../shared/spec';
import { donePercent, doneCount, firstNotDone, shareOf } from '../../shared/task-plan';
import { now, type RunningUnit, type TaskRun } from './run';

/** What a step's model calls used: its ended schedules plus what its running units last reported. */
function stepUsage(run: TaskRun, stepId: string, units: readonly RunningUnit[]): ModelUsage | null {
  const ended = run.state.stepUsage?.[stepId];
  const live = units.map((u) => u.usage).filter((u) => u !== null);
  return ended || live.length ? addUsage(ended, ...live) : null;
}

/** Every step's model usage so far, by step id (absent before any). */
function usageByStep(run: TaskRun): Record<string, ModelUsage> | undefined {
  const out: Record<string, ModelUsage> = { ...run.state.stepUsage };
  for (const unit of run.live.running.values()) {
    if (unit.usage) out[unit.step.step.id] = addUsage(out[unit.step.step.id], unit.usage);
  }
  return Object.keys(out).length ? out : undefined;
}

/** Every started step that is not done, in plan order. */
export function runningSteps(run: TaskRun): RunningStepView[] {
  const { state, plan, live } = run;
  const views: RunningStepView[] = [];
  for (const planned of plan.steps) {
    const { step, index } = planned;
    if (hasIndex(state.done, index)) continue;
    const units = [...live.running.values()].filter((u) => u.step.index === index);
    const stopped = state.stopped[step.id];
    const fan = state.fans[step.id];
    if (units.length === 0 && !stopped && !fan) continue;
    const working = units.some((u) => u.status === 'working');
    const unitState: RunningStepView['state'] =
      units.length === 0 ? 'stopped' : working ? 'running' : 'waiting';
    const base = {
      id: step.id,
      title: step.title ?? step.id,
      action: step.action,
      phaseId: planned.phase.id,
      state: unitState,
      share: shareOf(plan, index),
    };
    const usage = stepUsage(run, step.id, units);
    if (usage) Object.assign(base, { usage });
    if (fan) {
      const done = countIndices(fan.done);
      const failed = countIndices(fan.failed);
      const items = units.filter((u) => u.item !== null);
      const partial = items.reduce((sum, u) => sum + itemFraction(u.items), 0);
      const stoppedItems = Object.values(fan.stopped).reduce(
        (sum, s) => sum + itemFraction(s.items ? { done: s.items.done, total: s.items.total } : null),
        0
      );
      const inFlight = items.length > 0 ? partial : stoppedItems;
      views.push({
        ...base,
        fraction: fan.total > 0 ? Math.min(1, (done + failed + inFlight) / fan.total) : 0,
        items: { done: done + failed, total: fan.total },
        fanOut: { total: fan.total, done, failed, running: items.length },
        rounds: null,
      });
      continue;
    }
    const unit = units[0];
    const items = unit?.items ?? (stopped?.items ? { ...stopped.items } : null);
    const times = step.repeat?.times ?? null;
    const round = unit?.round ?? stopped?.round ?? 0;
    const rounds = step.repeat ? { done: round, of: times } : null;
    const fraction =
      step.action === WAIT_ACTION
        ? 0
        : rounds
          ? times === null
            ? 0
            : Math.min(1, (round + itemFraction(items)) / times)
          : itemFraction(items);
    views.push({
      ...base,
      fraction,
      items,
      fanOut: null,
      rounds,
      ...(unit?.waitReason && unit.status === 'waiting' ? { waitingFor: unit.waitReason } : {}),
    });
  }
  return views;
}

/** Warnings in force: idle units, 75% of the deadline or of a phase limit used. */
function warningsOf(run: TaskRun): string[] {
  const { state, live, limits } = run;
  if (hasEnded(state.lifecycle.state)) return [];
  const out: string[] = [];
  for (const [key, since] of live.idle)
    out.push(`no item progress in step ${key} for ${formatDuration(now() - since)}`);
  for (const unit of live.running.values()) {
    if (unit.waitReason === 'resources' && unit.sentAway) out.push(`step ${unit.key}: ${unit.sentAway.note}`);
  }
  const deadline = state.deadlineAt;
  if (deadline !== null && state.warned.task === deadline) {
    out.push(`deadline in ${formatDuration(Math.max(0, deadline - now()))}`);
  }
  for (const clock of Object.values(state.clocks)) {
    const limit = phaseLimitOf(clock, limits.phaseMs);
    if (limit !== null && state.warned.phases[clock.index] === limit) {
      const left = limit - phaseUsedMs(clock, now());
      out.push(`phase ${clock.index + 1} has ${formatDuration(Math.max(0, left))} of its limit left`);
    }
  }
  return out;
}

/** The task's model usage: ended schedules plus what running ones last reported; null before any. */
export function taskUsage(run: TaskRun): ModelUsage | null {
  const live = [...run.live.running.values()].map((u) => u.usage).filter((u) => u !== null);
  if (!run.state.usage && live.length === 0) return null;
  return addUsage(run.state.usage, ...live);
}

export function progressOf(run: TaskRun): TaskProgress {
  const { state, plan, spec, live, limits } = run;
  const running = runningSteps(run);
  const focusId = running[0]?.id;
  const focus =
    (focusId === undefined ? undefined : plan.steps.find((s) => s.step.id === focusId)) ??
    firstNotDone(plan, state.done) ??
    (plan.steps[plan.steps.length - 1] as (typeof plan.steps)[number]);
  const { totalMs, activeMs } = durations(state.lifecycle, now());
  const done = state.lifecycle.state === 'completed';
  const stepsPercent = done ? 100 : donePercent(plan, state.done);
  const clocks = Object.values(state.clocks);
  const phaseClock = clocks.find((c) => c.index === focus.phaseIndex) ?? clocks[0];
  const phaseLimit = phaseClock ? phaseLimitOf(phaseClock, limits.phaseMs) : null;
  const byStep = usageByStep(run);
  const base: TaskProgress = {
    taskId: spec.taskId,
    agent: spec.agent,
    title: spec.title ?? spec.taskId,
    state: state.lifecycle.state,
    percent: stepsPercent,
    stepsPercent,
    phase: {
      index: focus.phaseIndex,
      count: spec.phases.length,
      id: focus.phase.id,
      title: focus.phase.title ?? focus.phase.id,
    },
    step: {
      index: focus.index,
      count: plan.steps.length,
      id: focus.step.id,
      title: focus.step.title ?? focus.step.id,
      action: focus.step.action,
    },
    stepShare: done ? 0 : shareOf(plan, focus.index),
    stepsCompleted: doneCount(state.done),
    items: null,
    velocity: { percentPerHour: null, itemsPerSecond: null, etaMs: null, confidence: 'low' },
    etaAt: null,
    pausing: live.requests.pause !== null && state.lifecycle.state !== 'paused',
    cancelling: live.requests.cancel !== null,
    recent: state.activity.slice(-10),
    history: state.progressHistory,
    startedAt: state.lifecycle.createdAt,
    updatedAt: now(),
    completedAt: done ? state.lifecycle.endedAt : null,
    elapsedMs: totalMs,
    activeMs,
    run: state.run,
    lastCheckpoint: state.checkpoints[state.checkpoints.length - 1]?.id ?? null,
    deadline: state.deadlineAt === null ? null : new Date(state.deadlineAt).toISOString(),
    phaseTime:
      phaseClock && phaseLimit !== null
        ? { usedMs: phaseUsedMs(phaseClock, now()), limitMs: phaseLimit }
        : null,
    warnings: warningsOf(run),
    error: live.error,
    running,
    category: limits.category,
    usage: taskUsage(run),
    ...(byStep ? { usageByStep: byStep } : {}),
    ...(state.approvals?.pending.length ? { approvals: state.approvals.pending } : {}),
  };
  const progress = recomputeProgress(base, now());
  const budget = budgetLines(
    run.state.budget ?? budgetLimits(spec.budget),
    progress.usage,
    progress.percent,
    activeMs
  );
  if (budget.length === 0) return progress;
  const warnings = [...(progress.warnings ?? [])];
  for (const line of budget) {
    const f = (n: number) => formatAmount(line.dimension, n);
    if (line.soft !== null && line.used >= line.soft && (line.hard === null || line.used < line.hard))
      warnings.push(
        `the ${line.dimension} budget is past its warning threshold: ${f(line.used)} used${line.hard === null ? '' : ` of ${f(line.hard)}`}`
      );
    if (line.runsOutFirst && line.projected !== null && line.hard !== null)
      warnings.push(
        `the ${line.dimension} budget runs out before the work: about ${f(line.projected)} needed, ${f(line.hard)} allowed`
      );
  }
  return { ...progress, budget, warnings };
}

/** Mirrors progress into Current Details and the search attributes; called whenever it may have changed. */
export function publish(run: TaskRun): void {
  const progress = progressOf(run);
  setCurrentDetails(currentDetailsMarkdown(progress));
  if (run.input.searchAttributes === false) return;
  const pairs: SearchAttributePair[] = [
    { key: LongrunState, value: progress.state },
    { key: LongrunAgent, value: run.spec.agent },
    { key: LongrunDurability, value: run.spec.durability },
    { key: LongrunPhase, value: progress.phase.id },
    { key: LongrunProgress, value: Math.floor(progress.percent) },
  ];
  const key = JSON.stringify(pairs.map((p) => p.value));
  if (key !== run.live.lastAttributes) {
    upsertSearchAttributes(pairs);
    run.live.lastAttributes = key;
  }
}
