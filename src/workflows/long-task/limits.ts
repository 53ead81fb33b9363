/**
 * The deadline, the phases' working-time limits and idle steps, acted on as the spec's policy says:
 * one timer for the next moment something may be due, re-armed when the limits or clocks change.
 */
import { condition } from '@temporalio/workflow';
import { formatDuration } from '../../shared/duration';
import { hasEnded } from '../../shared/lifecycle';
import {
  limitEventsDue,
  limitReached,
  nextLimitCheckAt,
  type LimitEvent,
  type LimitsView,
} from '../../shared/limits';
import { budgetStillReached } from './budget';
import { notifyLater } from './notify';
import { publish } from './progress';
import { note, now, type TaskRun } from './run';

export function limitsView(run: TaskRun): LimitsView {
  const { state, limits } = run;
  return {
    now: now(),
    startedAt: state.lifecycle.createdAt,
    deadlineAt: state.deadlineAt,
    clocks: Object.values(state.clocks),
    phaseLimitMs: limits.phaseMs,
    warned: state.warned,
    reached: state.reached,
  };
}

/** What limit a task paused at its limit still exceeds (resume needs an extension first), else null. */
export function pausedAtReachedLimit(run: TaskRun): string | null {
  return run.state.pause?.limit ? (limitReached(limitsView(run)) ?? budgetStillReached(run)) : null;
}

function limitKey(run: TaskRun): string {
  const { state } = run;
  return JSON.stringify([state.deadlineAt, state.clocks, state.warned, state.reached]);
}

function onLimitEvent(run: TaskRun, ev: LimitEvent): void {
  const { state, live, limits } = run;
  const deadline = state.deadlineAt === null ? null : new Date(state.deadlineAt).toISOString();
  if (ev.kind === 'task-warning' || ev.kind === 'phase-warning') {
    if (ev.kind === 'task-warning') state.warned.task = ev.key;
    else state.warned.phases[ev.phase] = ev.key;
    note(run, 'warning', ev.message);
    notifyLater(run, 'task.deadline', { level: 'warning', message: ev.message, deadline });
    return;
  }
  if (ev.kind === 'task-limit') state.reached.task = ev.key;
  else state.reached.phases[ev.phase] = ev.key;
  const policy = limits.onLimit;
  if (policy === 'warn') {
    note(run, 'warning', `${ev.message}: the task runs on (onLimit "warn")`);
    notifyLater(run, 'task.deadline', { level: 'limit', policy, message: ev.message, deadline });
    return;
  }
  if (live.requests.limit || live.requests.cancel) return;
  live.requests.limit = { policy, reason: ev.message };
  const what =
    policy === 'pause'
      ? 'pausing with every cursor saved; extend, then resume'
      : 'stopping with a final checkpoint and partial results';
  note(run, 'warning', `${ev.message}: ${what}`);
}

/** Runs until the task ends; never cancelled (a cancel request must not end it with an unhandled rejection). */
export async function watchLimits(run: TaskRun): Promise<void> {
  const ended = (): boolean => hasEnded(run.state.lifecycle.state);
  while (!ended()) {
    const events = limitEventsDue(limitsView(run), formatDuration);
    for (const ev of events) onLimitEvent(run, ev);
    if (events.length > 0) publish(run);
    const at = nextLimitCheckAt(limitsView(run));
    const key = limitKey(run);
    const changed = (): boolean => limitKey(run) !== key || ended();
    if (at === null) await condition(changed);
    else await condition(changed, Math.max(1, at - now()));
  }
}

/** A unit's idle level changed (no item progress for the idle limits; heartbeats do not count). */
export function onIdle(
  run: TaskRun,
  key: string,
  idle: { level: 'active' | 'warning' | 'pause'; idleMs: number }
): void {
  const { live } = run;
  if (idle.level === 'active') {
    if (live.idle.delete(key)) note(run, 'info', `step ${key} is making progress again`);
    return;
  }
  if (!live.idle.has(key)) live.idle.set(key, now() - idle.idleMs);
  const forMs = formatDuration(idle.idleMs);
  if (idle.level === 'warning') {
    note(run, 'warning', `no item progress in step ${key} for ${forMs} (heartbeats only)`);
    notifyLater(run, 'task.idle', { level: 'warning', stepId: key, idleMs: idle.idleMs });
  } else if (!live.requests.pause && !live.requests.cancel && !live.requests.limit) {
    note(run, 'warning', `no item progress in step ${key} for ${forMs}: checkpoint and pause`);
    notifyLater(run, 'task.idle', { level: 'pause', stepId: key, idleMs: idle.idleMs });
    live.requests.pause = {
      reason: `idle: no item progress in step ${key} for ${forMs}`,
      checkpointLabel: `idle: paused after ${forMs} without progress in step ${key}`,
    };
  }
}
