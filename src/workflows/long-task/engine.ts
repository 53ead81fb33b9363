/**
 * The engine's loop: apply what happened, decide the one thing to do next (end, roll back, pause,
 * checkpoint, continue as new, or start what is ready), do it, and wait for the next event. Every
 * decision that stops work stops the whole running set the same way (`stopAll`).
 */
import type { StoppedStep } from '../../shared/task-state';
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  isCancellation,
  log,
  proxyLocalActivities,
  workflowInfo,
} from '@temporalio/workflow';
import type { createActivities } from '../../activities';
import { formatDuration } from '../../shared/duration';
import { countIndices, hasIndex } from '../../shared/ranges';
import { readyUnits, type UnitPlan } from '../../shared/scheduling';
import { WAIT_ACTION } from '../../shared/spec';
import { APPROVAL_ACTION } from '../../shared/approvals';
import { restoreWorkspace, snapshotsTaken } from './workspace';
import type { LongTaskResult } from '../../shared/task-result';
import { recordCheckpoint, stopAll, takeCheckpoints } from './checkpoints';
import { endCancelled, endCompleted, endFailed, endPartial } from './endings';
import { watchLimits } from './limits';
import { notify } from './notify';
import { applySettled } from './outcomes';
import { publish } from './progress';
import { move, note, now, policyFor, type LongTaskInput, type TaskRun } from './run';
import { startUnit, stoppedOf } from './units';

type Activities = ReturnType<typeof createActivities>;
const { describeHardware } = proxyLocalActivities<Activities>({ startToCloseTimeout: '30 seconds' });

/** A run hands over to a new one only past this many events (the new run must not turn round at once). */
const MIN_EVENTS_BEFORE_HANDOVER = 20;
/** At a handover, running units get this long to finish on their own before they are stopped. */
const HANDOVER_GRACE_MS = 1_000;
/** The longest a task stays `resuming` when a resumed step's start report does not come. */
const RESUMING_AT_MOST_MS = 30_000;

type Next =
  'cancel' | 'fail' | 'stop' | 'rollback' | 'pause' | 'checkpoint' | 'handover' | 'complete' | 'run';

function historyFull(run: TaskRun): boolean {
  const info = workflowInfo();
  const threshold = run.policy.continueAsNewAfterEvents;
  return (
    info.historyLength >= MIN_EVENTS_BEFORE_HANDOVER &&
    (info.continueAsNewSuggested || (threshold > 0 && info.historyLength >= threshold))
  );
}

function allDone(run: TaskRun): boolean {
  return countIndices(run.state.done) >= run.plan.steps.length;
}

/** A request or decision the loop has not acted on yet. */
function pending(run: TaskRun): boolean {
  const { requests, failure, rollback } = run.live;
  return (
    !!requests.cancel ||
    !!requests.pause ||
    requests.resume !== null ||
    requests.checkpoints.length > 0 ||
    !!requests.limit ||
    !!failure ||
    !!rollback
  );
}

function nextAction(run: TaskRun): Next {
  const { live, state } = run;
  const { requests } = live;
  if (requests.cancel) return 'cancel';
  if (live.failure) return 'fail';
  if (requests.limit?.policy === 'stop') return 'stop';
  if (live.rollback) return 'rollback';
  if (state.lifecycle.state === 'paused') {
    if (requests.resume !== null) return 'pause';
    if (live.due.length > 0 || requests.checkpoints.length > 0) return 'checkpoint';
    if (!pending(run) && historyFull(run)) return 'handover';
    return 'pause';
  }
  if (requests.pause || requests.limit?.policy === 'pause') return 'pause';
  if (live.due.length > 0 || requests.checkpoints.length > 0) return 'checkpoint';
  if (historyFull(run)) return 'handover';
  if (allDone(run) && live.running.size === 0) return 'complete';
  return 'run';
}

/** Something the loop must look at: an outcome, a request, a full history, the end of `resuming`. */
function woken(run: TaskRun): boolean {
  const { live, state } = run;
  return (
    live.settled.length > 0 ||
    nextAction(run) !== 'run' ||
    (state.lifecycle.state === 'resuming' && live.awaitingStart.size === 0)
  );
}

/** The first run plans: the worker's hardware profile picks the durability intervals. */
async function plan(run: TaskRun): Promise<void> {
  const { spec, plan: p } = run;
  move(run, 'planning', 'task started');
  note(
    run,
    'info',
    `task started: ${p.steps.length} steps in ${spec.phases.length} phases, ${spec.durability} durability, ${run.limits.category}`
  );
  publish(run);
  try {
    run.state.hardware = (await describeHardware()).profile;
  } catch (err) {
    if (!isCancellation(err)) throw err;
  }
  run.policy = policyFor(spec, run.state);
  move(run, 'executing', `plan ready: ${p.steps.length} steps in ${spec.phases.length} phases`);
}

/** A run started by `continueTask`: the limits move by the extension and the task goes on. */
function continueAfterLimit(run: TaskRun, byMs: number, reason: string): void {
  const { state } = run;
  if (state.deadlineAt !== null) state.deadlineAt = Math.max(state.deadlineAt, now()) + byMs;
  for (const [index, clock] of Object.entries(state.clocks))
    state.clocks[index] = { ...clock, extraMs: clock.extraMs + byMs };
  state.pause = null;
  note(run, 'control', `continued after its limit, extended by ${formatDuration(byMs)}: ${reason}`);
}

/** Starts what is ready; a risky step first gets its pre-risky checkpoint. */
function startReady(run: TaskRun): void {
  const { state, live, plan: p } = run;
  const running = [...live.running.values()].map((u) => ({
    stepIndex: u.step.index,
    kind: u.plan.kind,
    item: u.item,
  }));
  const ready = readyUnits({ ...p.scheduler, done: state.done, fans: state.fans, running });
  const risky = ready.find(
    (u) =>
      isFirstStart(run, u) &&
      p.steps[u.stepIndex]?.step.risky &&
      !live.preRisky.has(p.steps[u.stepIndex]?.step.id ?? '')
  );
  if (risky) {
    const id = p.steps[risky.stepIndex]?.step.id as string;
    live.preRisky.add(id);
    live.due.push({ type: 'pre-risky', label: `before risky step ${id}` });
    return;
  }
  const resuming = state.lifecycle.state === 'resuming';
  for (const unit of ready) {
    const step = p.steps[unit.stepIndex];
    if (!step) continue;
    const item = unit.kind === 'item' ? unit.item : null;
    const from = stoppedOf(run, { step, item });
    const name = `step ${step.index + 1}/${p.steps.length} ${step.step.id} (${step.step.action})`;
    if (isFirstStart(run, unit)) note(run, 'step', `${name} started`, step.step.id);
    else if (unit.kind === 'step' && from?.cursor != null) {
      note(run, 'step', `${name} resumed from cursor ${JSON.stringify(from.cursor)}`, step.step.id);
    }
    const started = startUnit(run, unit, resuming && from !== undefined);
    // A resumed action reports once it runs again; one resuming into a durable wait has nothing to say.
    const inWorkflow = step.step.action === WAIT_ACTION || step.step.action === APPROVAL_ACTION;
    const reports = !inWorkflow && !(from?.waitMs ?? 0);
    if (resuming && from !== undefined && reports && (unit.kind === 'step' || unit.kind === 'item')) {
      live.awaitingStart.add(started.key);
    }
  }
  if (ready.length === 0 && live.running.size === 0 && !allDone(run)) {
    // Cannot happen with a valid plan; if it does, fail clearly rather than wait for ever.
    const stuck = p.steps.find((s) => !hasIndex(state.done, s.index));
    live.failure = {
      message: `no step can start: ${stuck?.step.id ?? '?'} waits for steps that cannot complete`,
      stepId: stuck?.step.id ?? null,
      resetEventId: workflowInfo().historyLength + 1,
      error: null,
    };
  }
}

function isFirstStart(run: TaskRun, unit: UnitPlan): boolean {
  const id = run.plan.steps[unit.stepIndex]?.step.id ?? '';
  return (unit.kind === 'step' && !(id in run.state.stopped)) || unit.kind === 'fan-init';
}

/**
 * Pauses: every running step stops and keeps its cursor (the task is `paused` once they all have),
 * then waits for a resume (refused while a reached limit is not extended), a cancel or a stop.
 */
async function pause(run: TaskRun): Promise<void> {
  const { live, state } = run;
  const byLimit = live.requests.pause === null && live.requests.limit?.policy === 'pause';
  if (state.lifecycle.state !== 'paused') {
    const request = live.requests.pause ?? {
      reason: live.requests.limit?.reason ?? 'limit reached',
      checkpointLabel: null,
    };
    await stopAll(run);
    if (live.requests.cancel || live.failure) return;
    if (!live.requests.pause && !byLimit) return; // withdrawn while the steps stopped
    if (request.checkpointLabel !== null) recordCheckpoint(run, 'manual', request.checkpointLabel);
    if (run.live.snapshots.length) await snapshotsTaken(run);
    move(run, 'paused', request.reason);
    state.pause = { reason: request.reason, at: now(), limit: byLimit };
    live.requests.pause = null;
    live.requests.limit = null;
    live.idle.clear();
    note(run, 'control', pausedAt(run));
    publish(run);
    await notify(run, 'task.paused', {
      reason: request.reason,
      stopped: Object.keys(state.stopped),
      fanOuts: Object.keys(state.fans),
    });
  } else if (live.requests.pause || live.requests.limit) {
    // Already paused: a limit reached meanwhile means it must be extended before it resumes.
    if (byLimit && state.pause) state.pause = { ...state.pause, limit: true };
    live.requests.pause = null;
    live.requests.limit = null;
  }
  await condition(
    () =>
      live.requests.resume !== null ||
      !!live.requests.cancel ||
      !!live.requests.limit ||
      live.requests.checkpoints.length > 0 ||
      historyFull(run)
  );
  if (live.requests.resume === null) return; // the loop takes what came instead
  const why = live.requests.resume;
  live.requests.resume = null;
  state.pause = null;
  move(run, 'resuming', why);
  note(run, 'control', `resumed: ${why}`);
}

/** "paused at step b (cursor {"next":31})": where each started step stopped. */
function pausedAt(run: TaskRun): string {
  const { state } = run;
  const places = [
    ...Object.entries(state.stopped).map(([id, s]) =>
      s.cursor === null ? id : `${id} (cursor ${JSON.stringify(s.cursor)})`
    ),
    ...Object.entries(state.fans).map(
      ([id, f]) => `${id} (${countIndices(f.done)} of ${f.total} items done)`
    ),
  ];
  if (places.length === 0) return 'paused between steps';
  return `paused at step${places.length === 1 ? '' : 's'} ${places.join(', ')}`;
}

/** Rolls back to a checkpoint after a critical failure: the steps stop, the position is restored. */
async function rollback(run: TaskRun): Promise<void> {
  const { live, state } = run;
  const { target, stepId } = live.rollback as NonNullable<TaskRun['live']['rollback']>;
  await stopAll(run);
  if (run.spec.workspace) await restoreWorkspace(run, target); // no extra await for older tasks
  live.rollback = null;
  const position = target.position as NonNullable<typeof target.position>;
  state.rollbacks[stepId] = (state.rollbacks[stepId] ?? 0) + 1;
  state.done = position.done;
  // The model answers recorded after the checkpoint led to the failure: the steps ask afresh.
  const fresh = (stopped: Record<string, StoppedStep>) =>
    Object.fromEntries(Object.entries(stopped).map(([id, { model: _answers, ...rest }]) => [id, rest]));
  state.stopped = fresh(position.stopped);
  state.fans = JSON.parse(JSON.stringify(position.fans)) as typeof state.fans;
  for (const fan of Object.values(state.fans)) fan.stopped = fresh(fan.stopped);
  state.skipped = state.skipped.filter((id) => {
    const index = run.plan.graph.indexOf.get(id);
    return index !== undefined && hasIndex(state.done, index);
  });
  for (const id of Object.keys(state.outputs)) {
    const index = run.plan.graph.indexOf.get(id);
    if (index === undefined || !hasIndex(state.done, index)) delete state.outputs[id];
  }
  state.lostWorkers = {};
  note(run, 'control', `rolled back to ${target.id}; steps after it run again`);
  publish(run);
}

/**
 * The run's history is full: every running step hands its cursor over, and the task continues as new
 * with its state; the steps start again at once in the new run. Returns null if requests came in
 * while handlers finished (the loop takes them first).
 */
async function handover(run: TaskRun): Promise<null> {
  const { state, live } = run;
  // Short steps end by themselves (no work to hand over); long ones are stopped with their cursor.
  if (live.running.size > 0)
    await condition(() => live.running.size === 0 || pending(run), HANDOVER_GRACE_MS);
  applySettled(run);
  if (pending(run) || live.due.length > 0) return null;
  await stopAll(run);
  if (now() - state.lastAutomaticAt >= run.policy.automaticCheckpointEveryMs) {
    state.lastAutomaticAt = now();
    recordCheckpoint(run, 'automatic', 'automatic, at a continue-as-new');
  }
  if (run.live.snapshots.length) await snapshotsTaken(run);
  // In-flight updates answer first; a request that arrives meanwhile is taken before handing over.
  await condition(() => allHandlersFinished() || pending(run));
  if (!allHandlersFinished() || pending(run)) return null;
  const info = workflowInfo();
  note(run, 'info', `continued as new: run ${state.run + 1} (history had ${info.historyLength} events)`);
  publish(run);
  log.info('continuing as new', {
    taskId: run.spec.taskId,
    run: state.run,
    historyLength: info.historyLength,
  });
  const input: LongTaskInput = {
    spec: run.input.spec,
    carried: { ...state, run: state.run + 1 },
    ...(run.input.searchAttributes === false ? { searchAttributes: false } : {}),
  };
  // The spec as given (without filled-in defaults) keeps the carried payload small.
  return continueAsNew<(input: LongTaskInput) => Promise<LongTaskResult>>(input);
}

export async function drive(run: TaskRun): Promise<LongTaskResult> {
  if (!run.input.carried) await plan(run);
  else if (run.input.continued) continueAfterLimit(run, run.input.continued.byMs, run.input.continued.reason);
  // Watched from here on: a limit timer started and dropped around the planning local activity
  // would make the first workflow task replay differently.
  void watchLimits(run);
  for (;;) {
    applySettled(run);
    const { live, state } = run;
    if (state.lifecycle.state === 'resuming' && live.awaitingStart.size === 0 && live.running.size > 0) {
      move(run, 'executing', 'resumed steps are running again');
    }
    switch (nextAction(run)) {
      case 'cancel':
        return endCancelled(run, live.requests.cancel?.reason ?? 'cancel requested');
      case 'fail':
        return endFailed(run);
      case 'stop':
        return endPartial(run, live.requests.limit?.reason ?? 'limit reached');
      case 'rollback':
        await rollback(run);
        continue;
      case 'pause':
        await pause(run);
        continue;
      case 'checkpoint':
        await takeCheckpoints(run);
        continue;
      case 'handover':
        await handover(run);
        continue;
      case 'complete':
        if (state.lifecycle.state === 'resuming') move(run, 'executing', 'resumed');
        return endCompleted(run);
      case 'run':
        startReady(run);
        if (state.lifecycle.state === 'resuming' && live.awaitingStart.size === 0)
          move(run, 'executing', 'resumed');
        publish(run);
        if (state.lifecycle.state !== 'resuming') await condition(() => woken(run));
        else if (!(await condition(() => woken(run), RESUMING_AT_MOST_MS))) live.awaitingStart.clear();
    }
  }
}
