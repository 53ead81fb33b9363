/**
 * Steering: one table pairs each control kind with its update, its signal and what it does. An update
 * is checked by a validator (a refused request changes nothing and says why) and answers once its
 * request took effect; a signal runs the same check and notes a refusal in the activity log. Temporal's
 * own cancel request takes the cancel path too.
 */
import { formatAmount, raiseBudget, usedOf, type BudgetDimension } from '../../shared/budget';
import { budgetOf } from './budget';
import {
  ApplicationFailure,
  CancellationScope,
  condition,
  log,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { SignalDefinition, UpdateDefinition } from '@temporalio/common';
import type { CheckpointRecord } from '../../shared/checkpoints';
import {
  controlRejection,
  extendedDeadline,
  parseControl,
  type ControlKind,
  type ControlView,
  type ExtendRequest,
} from '../../shared/control';
import { formatDuration } from '../../shared/duration';
import { hasEnded } from '../../shared/lifecycle';
import {
  cancelSignal,
  cancelUpdate,
  checkpointSignal,
  checkpointUpdate,
  extendSignal,
  extendUpdate,
  pauseSignal,
  pauseUpdate,
  resumeSignal,
  resumeUpdate,
} from '../messages';
import { pausedAtReachedLimit } from './limits';
import { progressOf, publish, taskUsage } from './progress';
import { note, now, type ManualCheckpoint, type TaskRun } from './run';

type Via = 'update' | 'signal';

/** Registers one control's update and signal on a run. */
type Registrar = (run: TaskRun, kind: ControlKind) => void;

/**
 * A control: its update and signal, and `apply`, which acts on an accepted request and gives the
 * update's answer once the request took effect.
 */
function control<R, A>(
  update: UpdateDefinition<R, [A]>,
  signal: SignalDefinition<[A]>,
  description: string,
  apply: (run: TaskRun, payload: A, via: Via) => () => Promise<R>
): Registrar {
  return (run, kind) => {
    setHandler(update, (payload) => apply(run, payload, 'update')(), {
      validator: (payload) => {
        const why = refusal(run, kind, payload);
        // Not retryable: the same request is refused again until the task's state changes.
        if (why !== null) throw ApplicationFailure.nonRetryable(why, 'LongrunRequestRefused');
      },
      description,
    });
    setHandler(
      signal,
      (payload) => {
        const why = refusal(run, kind, payload);
        if (why === null) {
          void apply(run, payload, 'signal');
          return;
        }
        note(run, 'control', `ignored ${kind} signal: ${why}`);
        log.warn('ignored control signal', { taskId: run.spec.taskId, kind, reason: why });
      },
      { description: `Fire-and-forget ${kind}` }
    );
  };
}

/** Waits, in any scope, until `fn` holds. */
const settled = (fn: () => boolean): Promise<void> => CancellationScope.nonCancellable(() => condition(fn));
const ended = (run: TaskRun): boolean => hasEnded(run.state.lifecycle.state);

function reasonOf(payload: unknown, fallback: string): string {
  const reason = (payload as { reason?: unknown } | undefined)?.reason;
  return typeof reason === 'string' && reason.trim() !== '' ? reason.trim() : fallback;
}

/** Every path to cancelling a task (update, signal, Temporal's cancel) comes here. */
export function requestCancel(run: TaskRun, reason: string, via: 'update' | 'signal' | 'temporal'): void {
  if (run.live.requests.cancel || ended(run)) return;
  run.live.requests.cancel = { reason, via };
  note(run, 'control', `cancel requested: ${reason}`);
  publish(run);
}

/** Moves the deadline (if the task has one) and the limits of the phases running now. */
function extend(run: TaskRun, request: ExtendRequest): void {
  if (request.budget) raiseTaskBudget(run, request.budget, reasonOf(request, 'extend requested'));
  if (request.by === undefined && request.until === undefined) return;
  const { state } = run;
  const base = state.deadlineAt ?? now();
  const to = extendedDeadline(base, request);
  const byMs = to - base;
  if (state.deadlineAt !== null) state.deadlineAt = to;
  // The running phases' limits move by as much as the deadline.
  for (const [index, clock] of Object.entries(state.clocks))
    state.clocks[index] = { ...clock, extraMs: clock.extraMs + byMs };
  const what =
    state.deadlineAt === null
      ? 'phase limits extended'
      : `deadline extended by ${formatDuration(byMs)} to ${new Date(to).toISOString()}`;
  note(
    run,
    'control',
    `${state.deadlineAt === null ? `${what} by ${formatDuration(byMs)}` : what}: ${reasonOf(request, 'extend requested')}`
  );
}

const CONTROLS: Record<ControlKind, Registrar> = {
  pause: control(
    pauseUpdate,
    pauseSignal,
    'Pause: every running step stops at its next item and keeps its cursor. {"reason": "..."}',
    (run, payload) => {
      const reason = reasonOf(payload, 'pause requested');
      run.live.requests.pause = { reason, checkpointLabel: null };
      note(run, 'control', `pause requested: ${reason}`);
      publish(run);
      return async () => {
        const { live, state } = run;
        await settled(
          () =>
            state.lifecycle.state === 'paused' || !live.requests.pause || !!live.requests.cancel || ended(run)
        );
        return progressOf(run);
      };
    }
  ),
  resume: control(
    resumeUpdate,
    resumeSignal,
    'Resume a paused task from where its steps stopped. {"reason": "..."}',
    (run, payload) => {
      const reason = reasonOf(payload, 'resume requested');
      // Not paused yet: the pause is withdrawn and the steps run on from their cursors.
      if (run.state.lifecycle.state === 'paused') run.live.requests.resume = reason;
      else run.live.requests.pause = null;
      note(run, 'control', `resume requested: ${reason}`);
      publish(run);
      return async () => {
        await settled(() => run.state.lifecycle.state !== 'paused');
        return progressOf(run);
      };
    }
  ),
  cancel: control(
    cancelUpdate,
    cancelSignal,
    'Cancel: every step stops, a final checkpoint, partial results kept, state cancelled. {"reason": "..."}',
    (run, payload, via) => {
      requestCancel(run, reasonOf(payload, 'cancel requested'), via);
      return async () => {
        await settled(() => ended(run));
        return progressOf(run);
      };
    }
  ),
  extend: control(
    extendUpdate,
    extendSignal,
    'Move the deadline and the running phases\' limits, or raise the model budget: {"by": "2h"}, {"until": "2026-12-01T00:00:00Z"}, {"budget": {"costUsd": 10}}',
    (run, payload) => {
      extend(run, payload);
      publish(run);
      return () => Promise.resolve(progressOf(run));
    }
  ),
  checkpoint: control(
    checkpointUpdate,
    checkpointSignal,
    'Record a manual checkpoint now, with every running step\'s cursor: {"label": "..."}',
    (run, payload) => {
      const request: ManualCheckpoint = {
        label: payload.label.trim(),
        requestedIn: workflowInfo().historyLength,
        record: null,
      };
      run.live.requests.checkpoints.push(request);
      return async () => {
        await settled(() => request.record !== null);
        return request.record as CheckpointRecord;
      };
    }
  ),
};

/** New hard limits of the model budget; a raised soft threshold may warn again. */
function raiseTaskBudget(run: TaskRun, raise: NonNullable<ExtendRequest['budget']>, reason: string): void {
  const limits = budgetOf(run);
  if (!limits) return;
  const raised = raiseBudget(limits, raise);
  const usage = taskUsage(run);
  run.state.budget = raised;
  run.state.budgetWarned = (run.state.budgetWarned ?? []).filter((dim) => {
    const soft = raised[dim as BudgetDimension]?.soft;
    return soft == null || usedOf(usage, dim as BudgetDimension) >= soft;
  });
  const what = Object.entries(raise)
    .map(([dim, hard]) => `${dim} to ${formatAmount(dim as BudgetDimension, hard)}`)
    .join(', ');
  note(run, 'control', `budget raised: ${what}: ${reason}`);
}

/** The budget's hard limits and use, for the control rules. */
function budgetView(run: TaskRun): ControlView['budget'] {
  const limits = budgetOf(run);
  if (!limits) return null;
  const usage = taskUsage(run);
  return Object.fromEntries(
    Object.entries(limits).map(([dim, l]) => [
      dim,
      { used: usedOf(usage, dim as BudgetDimension), hard: l.hard },
    ])
  );
}

/** Why the task refuses a request, or null. */
function refusal(run: TaskRun, kind: ControlKind, payload: unknown): string | null {
  const parsed = parseControl(kind, payload);
  if (!parsed.ok) return parsed.message;
  const { state, live, limits } = run;
  return controlRejection(
    kind,
    {
      state: state.lifecycle.state,
      pausing: live.requests.pause !== null && state.lifecycle.state !== 'paused',
      cancelling: live.requests.cancel !== null,
      deadline: state.deadlineAt,
      phaseLimit: limits.phaseMs !== null,
      limitReached: pausedAtReachedLimit(run),
      budget: budgetView(run),
    },
    now(),
    payload
  );
}

/** Registers every control's update and signal, and routes Temporal's cancel request to the cancel path. */
export function registerSteering(run: TaskRun): void {
  for (const kind of Object.keys(CONTROLS) as ControlKind[]) CONTROLS[kind](run, kind);
  CancellationScope.current().cancelRequested.catch(() =>
    requestCancel(run, 'cancel requested through Temporal', 'temporal')
  );
}
