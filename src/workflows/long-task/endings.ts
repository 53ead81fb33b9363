/**
 * How a task ends: completed, partial (stopped at a limit, with what it needs to continue), cancelled
 * (any cancel path; the workflow completes with state `cancelled`) or failed (a recovery checkpoint and
 * a dead-letter memo first). Every ending stops the running set with a final checkpoint and lets
 * in-flight handlers answer.
 */
import {
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  condition,
  log,
  upsertMemo,
} from '@temporalio/workflow';
import { FailureType } from '../../shared/errors';
import { durations } from '../../shared/lifecycle';
import { doneCount, firstNotDone } from '../../shared/task-plan';
import { FAILURE_MEMO, type FailureMemo, type LongTaskResult } from '../../shared/task-result';
import type { CarriedState } from '../../shared/task-state';
import { recordCheckpoint, stopAll } from './checkpoints';
import { snapshotsTaken } from './workspace';
import { notify } from './notify';
import { publish } from './progress';
import { move, note, now, type TaskRun } from './run';

const handlersDone = (): Promise<void> =>
  CancellationScope.nonCancellable(() => condition(allHandlersFinished));

function resultOf(run: TaskRun, final: LongTaskResult['state'], reason?: string): LongTaskResult {
  const { state, spec, plan } = run;
  const times = durations(state.lifecycle, now());
  const remaining = plan.steps.length - doneCount(state.done);
  return {
    taskId: spec.taskId,
    state: final,
    outputs: state.outputs,
    startedAt: state.lifecycle.createdAt,
    completedAt: state.lifecycle.endedAt ?? now(),
    totalMs: times.totalMs,
    activeMs: times.activeMs,
    runs: state.run,
    stepsCompleted: doneCount(state.done),
    ...(state.skipped.length ? { skipped: state.skipped } : {}),
    ...(state.usage ? { usage: state.usage } : {}),
    ...(state.stepUsage ? { usageByStep: state.stepUsage } : {}),
    ...(reason === undefined ? {} : { reason }),
    ...(final === 'completed' ? {} : { stepsRemaining: remaining }),
  };
}

/** What a webhook says about a result: no outputs (they can be large), no continuation, the facts. */
function summaryOf(result: LongTaskResult): Record<string, unknown> {
  const facts: Record<string, unknown> = { ...result, outputSteps: Object.keys(result.outputs) };
  delete facts.outputs;
  delete facts.continuation;
  return facts;
}

/** The step a final checkpoint names: the first running one, else the first not done. */
function atStep(run: TaskRun): string {
  const running = [...run.live.running.values()][0]?.step.step.id;
  return running ?? firstNotDone(run.plan, run.state.done)?.step.id ?? 'end';
}

export async function endCompleted(run: TaskRun): Promise<LongTaskResult> {
  move(run, 'completing', 'all steps done');
  note(run, 'info', 'task completed');
  publish(run);
  const result = resultOf(run, 'completed');
  await notify(run, 'task.completed', summaryOf(result));
  move(run, 'completed', 'result ready');
  publish(run);
  await handlersDone();
  log.info('task completed', { taskId: run.spec.taskId, runs: run.state.run });
  return resultOf(run, 'completed');
}

/**
 * The limit was reached with `onLimit: "stop"`: a final checkpoint holding every running step's
 * cursor, then the task completes with the results it has and the state `continueTask` resumes from.
 */
export async function endPartial(run: TaskRun, reason: string): Promise<LongTaskResult> {
  const stepId = atStep(run);
  await stopAll(run);
  recordCheckpoint(run, 'manual', `final checkpoint: ${reason} during step ${stepId}`);
  if (run.live.snapshots.length) await snapshotsTaken(run);
  const continuation: CarriedState = JSON.parse(JSON.stringify(run.state)) as CarriedState;
  if (run.state.lifecycle.state === 'paused') {
    move(run, 'resuming', reason);
    move(run, 'executing', reason);
  }
  if (run.state.lifecycle.state === 'checkpointing') move(run, 'executing', reason);
  move(run, 'completing', reason);
  move(run, 'completed', `partial result: ${reason}`);
  const result = resultOf(run, 'partial', reason);
  note(
    run,
    'warning',
    `completed with partial results (${result.stepsRemaining ?? 0} steps not run): ${reason}`
  );
  publish(run);
  await notify(run, 'task.completed', { ...summaryOf(result), partial: true });
  await handlersDone();
  log.warn('task stopped at its limit', { taskId: run.spec.taskId, reason });
  return { ...result, continuation };
}

/** Every cancel path ends here: the steps stop, a final checkpoint keeps their cursors, state cancelled. */
export async function endCancelled(run: TaskRun, reason: string): Promise<LongTaskResult> {
  const stepId = atStep(run);
  await stopAll(run);
  recordCheckpoint(run, 'manual', `final checkpoint: cancelled during step ${stepId}`);
  if (run.live.snapshots.length) await snapshotsTaken(run);
  if (run.state.lifecycle.state === 'checkpointing') move(run, 'executing', 'cancelled');
  move(run, 'cancelled', reason);
  note(run, 'control', `cancelled: ${reason}`);
  publish(run);
  await handlersDone();
  return resultOf(run, 'cancelled', reason);
}

/**
 * The task cannot go on: the other steps stop, a recovery checkpoint marks where a retry starts (just
 * before the failed unit was scheduled), the dead-letter memo and `task.failed` webhook go out, and the
 * workflow fails with the unit's failure.
 */
export async function endFailed(run: TaskRun): Promise<never> {
  const failure = run.live.failure as NonNullable<TaskRun['live']['failure']>;
  const { message, stepId } = failure;
  await stopAll(run);
  run.live.error = message;
  note(run, 'error', message, stepId ?? undefined);
  const recovery = recordCheckpoint(
    run,
    'recovery',
    `retry point: ${stepId === null ? 'the task' : `step ${stepId}`} failed`,
    failure.resetEventId
  );
  if (run.live.snapshots.length) await snapshotsTaken(run);
  if (run.state.lifecycle.state === 'checkpointing' || run.state.lifecycle.state === 'paused') {
    move(run, run.state.lifecycle.state === 'paused' ? 'resuming' : 'executing', 'failing');
  }
  move(run, 'failed', message);
  publish(run);
  log.error('step failed', { taskId: run.spec.taskId, stepId, error: message });
  const last = run.state.failures[run.state.failures.length - 1] ?? null;
  const memo: FailureMemo = {
    error: message,
    failure: last,
    recoveryCheckpoint: recovery,
    checkpoints: run.state.checkpoints,
    failedAt: now(),
  };
  upsertMemo({ [FAILURE_MEMO]: memo });
  await notify(run, 'task.failed', { error: message, failure: last, recoveryCheckpoint: recovery.id });
  await handlersDone();
  throw (
    failure.error ?? ApplicationFailure.create({ type: FailureType.InvalidSpec, message, nonRetryable: true })
  );
}
