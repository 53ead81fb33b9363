/**
 * What each unit's outcome does to the task: a completed step is done (and may owe a milestone, phase
 * or automatic checkpoint), a stopped one keeps its cursor, a failed one gets its strategy (skip a
 * non-critical step, roll back once after a critical failure, else fail). Applied in the order the outcomes arrived.
 */
import { formatDuration } from '../../shared/duration';
import {
  CRASH_RESCHEDULES,
  FAILURE_LOG_LIMIT,
  recoveryDecision,
  type FailureKind,
  type FailureRecord,
} from '../../shared/failures';
import { durations } from '../../shared/lifecycle';
import { addIndex, hasIndex } from '../../shared/ranges';
import { appendSample } from '../../shared/samples';
import type { StepOutput } from '../../shared/step-io';
import { donePercent, doneCount, phaseDone } from '../../shared/task-plan';
import type { StoppedStep } from '../../shared/task-state';
import { note, now, unitName, type RunningUnit, type StepOutcome, type TaskRun } from './run';

/** Applies every queued outcome. */
export function applySettled(run: TaskRun): void {
  for (const { unit, outcome } of run.live.settled.splice(0)) applyOutcome(run, unit, outcome);
}

function applyOutcome(run: TaskRun, unit: RunningUnit, outcome: StepOutcome): void {
  run.live.idle.delete(unit.key);
  run.live.awaitingStart.delete(unit.key);
  switch (outcome.kind) {
    case 'completed':
      if (unit.plan.kind === 'item') itemDone(run, unit);
      else stepDone(run, unit, outcome.output, false);
      return;
    case 'stopped':
      keepStopped(run, unit, outcome.stopped);
      return;
    case 'interrupted':
      return interrupted(run, unit, outcome);
    case 'failed':
      return failed(run, unit, outcome.failureKind, outcome.message, outcome.attempt, outcome.error);
    case 'fan-ready':
      run.state.fans[unit.step.step.id] = {
        total: outcome.total,
        artifact: outcome.artifact,
        done: [],
        failed: [],
        stopped: {},
      };
      note(run, 'step', `step ${unit.step.step.id} fans out over ${outcome.total} items`, unit.step.step.id);
      return;
    case 'invalid':
      run.live.failure ??= {
        message: outcome.message,
        stepId: unit.step.step.id,
        resetEventId: unit.resetEventId,
        error: null,
      };
      return;
  }
}

function keepStopped(run: TaskRun, unit: RunningUnit, stopped: StoppedStep): void {
  const id = unit.step.step.id;
  if (unit.plan.kind === 'step') run.state.stopped[id] = stopped;
  const fan = run.state.fans[id];
  if (unit.plan.kind === 'item' && fan) fan.stopped[String(unit.item)] = stopped;
}

function itemDone(run: TaskRun, unit: RunningUnit): void {
  const fan = run.state.fans[unit.step.step.id];
  if (!fan || unit.item === null) return;
  fan.done = addIndex(fan.done, unit.item);
  delete fan.stopped[String(unit.item)];
  delete run.state.lostWorkers[unit.key];
  sample(run);
}

function sample(run: TaskRun): void {
  const { state, plan } = run;
  state.progressHistory = appendSample(state.progressHistory, {
    at: now(),
    percent: donePercent(plan, state.done),
    stepsCompleted: doneCount(state.done),
    activeMs: durations(state.lifecycle, now()).activeMs,
  });
}

/** A step is done (completed, or skipped after failing): its output kept, its checkpoints owed. */
function stepDone(run: TaskRun, unit: RunningUnit, output: StepOutput | null, skipped: boolean): void {
  const { state, plan, live, policy } = run;
  const { step, index, phase, phaseIndex } = unit.step;
  if (hasIndex(state.done, index)) return;
  state.done = addIndex(state.done, index);
  if (skipped) state.skipped = [...state.skipped, step.id];
  if (output !== null && plan.keepOutputs.has(step.id)) state.outputs[step.id] = output;
  delete state.stopped[step.id];
  delete state.fans[step.id];
  for (const key of Object.keys(state.lostWorkers))
    if (key === step.id || key.startsWith(`${step.id}[`)) delete state.lostWorkers[key];
  if (!skipped)
    note(run, 'step', `step ${step.id} completed in ${formatDuration(now() - unit.startedAt)}`, step.id);
  sample(run);
  if (step.milestone && !skipped)
    live.due.push({ type: 'milestone', label: `after milestone step ${step.id}` });
  if (phaseDone(plan, state.done, phaseIndex)) {
    delete state.clocks[phaseIndex];
    delete state.warned.phases[phaseIndex];
    delete state.reached.phases[phaseIndex];
    live.due.push({ type: 'phase', label: `end of phase ${phase.id}` });
  }
  if (
    now() - state.lastAutomaticAt >= policy.automaticCheckpointEveryMs &&
    doneCount(state.done) < plan.steps.length
  ) {
    state.lastAutomaticAt = now();
    live.due.push({ type: 'automatic', label: `automatic, after step ${step.id}` });
  }
}

function interrupted(
  run: TaskRun,
  unit: RunningUnit,
  outcome: Extract<StepOutcome, { kind: 'interrupted' }>
): void {
  const name = unitName(unit);
  if (!outcome.lostWorker) {
    keepStopped(run, unit, outcome.stopped);
    note(
      run,
      'info',
      `${name} stopped by worker shutdowns on its last attempt: scheduled again`,
      unit.step.step.id
    );
    return;
  }
  const lost = run.state.lostWorkers[unit.key] ?? 0;
  if (lost >= CRASH_RESCHEDULES) {
    failed(run, unit, 'transient', outcome.message, null, new Error(outcome.message));
    return;
  }
  run.state.lostWorkers[unit.key] = lost + 1;
  keepStopped(run, unit, outcome.stopped);
  note(
    run,
    'warning',
    `${name}: its last attempt lost its worker (heartbeat timeout); scheduled again from its cursor (${lost + 1} of ${CRASH_RESCHEDULES})`,
    unit.step.step.id
  );
}

/** A unit's attempts are behind it: skip it, roll back to a checkpoint, or stop the task. */
function failed(
  run: TaskRun,
  unit: RunningUnit,
  kind: FailureKind,
  message: string,
  attempt: number | null,
  error: Error
): void {
  const { state, live } = run;
  const { step, index } = unit.step;
  const target = [...state.checkpoints]
    .reverse()
    .find((c) => c.position && !hasIndex(c.position.done, index));
  const rollbacks = state.rollbacks[step.id] ?? 0;
  const decision = recoveryDecision({
    kind,
    critical: step.critical,
    hasCheckpoint: target !== undefined,
    rollbacks,
  });
  const detail = unit.item === null ? message : `item ${unit.item}: ${message}`;
  const record: FailureRecord = { at: now(), stepId: step.id, kind, message: detail, attempt, decision };
  state.failures = [...state.failures, record].slice(-FAILURE_LOG_LIMIT);
  const name = unitName(unit);
  if (decision === 'skip') {
    note(run, 'error', `${name} skipped (not critical) after a ${kind} failure: ${message}`, step.id);
    const fan = state.fans[step.id];
    if (unit.plan.kind === 'item' && fan && unit.item !== null) {
      fan.failed = addIndex(fan.failed, unit.item);
      delete fan.stopped[String(unit.item)];
    } else stepDone(run, unit, null, true);
    return;
  }
  if (decision === 'rollback' && target) {
    note(run, 'error', `${name}: ${kind} failure, rolling back to ${target.id}: ${message}`, step.id);
    live.rollback ??= { target, stepId: step.id };
    return;
  }
  live.failure ??= {
    message: `${name} failed: ${message}`,
    stepId: step.id,
    resetEventId: unit.resetEventId,
    error,
  };
}
