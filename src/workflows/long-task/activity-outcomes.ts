/**
 * How a unit's `runStep` schedule ended when it did not return: stopped (with the cursor and model
 * journal of its last heartbeat), interrupted (worker shutdown, lost worker) or failed (kind and
 * attempt). Whatever the schedule's model calls used joins the task's total on every path.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancelledFailure,
  TimeoutFailure,
  isCancellation,
} from '@temporalio/workflow';
import { FailureType } from '../../shared/errors';
import { kindOfFailureType, type FailureKind } from '../../shared/failures';
import { addUsage, type ModelUsage } from '../../shared/model-usage';
import { isStepHeartbeat, type ModelJournal } from '../../shared/step-io';
import type { StoppedStep } from '../../shared/task-state';
import { checkBudget } from './budget';
import { failureMessage, type RunningUnit, type StepOutcome, type TaskRun } from './run';

/** Steps whose model usage is kept one by one; later ones count in the task's total only (a bounded state). */
export const MAX_STEP_USAGE = 500;

/** A schedule of a unit ended: what its model calls used joins its step's total and the task's. */
export function spend(run: TaskRun, unit: RunningUnit, usage: ModelUsage | undefined): void {
  unit.usage = null;
  if (!usage) return;
  run.state.usage = addUsage(run.state.usage, usage);
  const byStep = (run.state.stepUsage ??= {});
  const id = unit.step.step.id;
  if (byStep[id] || Object.keys(byStep).length < MAX_STEP_USAGE) byStep[id] = addUsage(byStep[id], usage);
  checkBudget(run);
}

/** The model journal and usage in a step's heartbeat details, when it has them. */
function modelOf(details: unknown): { journal?: ModelJournal; usage?: ModelUsage } {
  const model = isStepHeartbeat(details) ? details.model : undefined;
  return model ?? {};
}

/** Where a stopped activity had got to: in its cancellation details or its last heartbeat. */
function stoppedFrom(
  run: TaskRun,
  unit: RunningUnit,
  err: ActivityFailure,
  fallback: StoppedStep
): StoppedStep {
  const cause = err.cause;
  const details: unknown =
    cause instanceof CancelledFailure
      ? cause.details[0]
      : cause instanceof TimeoutFailure
        ? cause.lastHeartbeatDetails
        : cause instanceof ApplicationFailure && cause.type === FailureType.WorkerShutdown
          ? cause.details?.[0]
          : undefined;
  if (!isStepHeartbeat(details)) return fallback;
  const { journal, usage } = modelOf(details);
  spend(run, unit, usage);
  const { model: _earlier, ...rest } = fallback;
  return {
    ...rest,
    cursor: details.cursor ?? fallback.cursor,
    items: { done: details.done, total: details.total },
    ...(journal && journal.n > 0 ? { model: journal } : {}),
  };
}

/** How an activity that did not return ended. */
export function outcomeOf(run: TaskRun, unit: RunningUnit, err: unknown, fallback: StoppedStep): StepOutcome {
  if (isCancellation(err)) {
    return {
      kind: 'stopped',
      stopped: err instanceof ActivityFailure ? stoppedFrom(run, unit, err, fallback) : fallback,
    };
  }
  // Anything but a failed activity is a bug in workflow code: let the workflow task retry.
  if (!(err instanceof ActivityFailure)) throw err;
  const cause = err.cause;
  if (cause instanceof ApplicationFailure && cause.type === FailureType.WorkerShutdown) {
    return {
      kind: 'interrupted',
      stopped: stoppedFrom(run, unit, err, fallback),
      lostWorker: false,
      message: failureMessage(err),
    };
  }
  if (cause instanceof TimeoutFailure && cause.timeoutType === 'HEARTBEAT') {
    return {
      kind: 'interrupted',
      stopped: stoppedFrom(run, unit, err, fallback),
      lostWorker: true,
      message: failureMessage(err),
    };
  }
  const failureKind: FailureKind =
    cause instanceof ApplicationFailure
      ? (kindOfFailureType(cause.type) ?? 'permanent')
      : cause instanceof TimeoutFailure
        ? 'transient'
        : 'permanent';
  const detail: unknown = cause instanceof ApplicationFailure ? cause.details?.[0] : undefined;
  const attempt = (detail as { attempt?: unknown } | null | undefined)?.attempt;
  const usage = (detail as { usage?: ModelUsage } | null | undefined)?.usage;
  spend(run, unit, cause instanceof TimeoutFailure ? modelOf(cause.lastHeartbeatDetails).usage : usage);
  return {
    kind: 'failed',
    failureKind,
    message: failureMessage(err),
    attempt: typeof attempt === 'number' ? attempt : null,
    error: err,
  };
}
