/**
 * The step runner: starts one unit of work (a step, a fan-out item, or a fan-out's opening and closing
 * bookkeeping) in its own cancellation scope and turns however it ends into one `StepOutcome`. A unit
 * never throws for a failed activity; only a bug in workflow code does (the workflow task then retries).
 */
import {
  CancellationScope,
  isCancellation,
  proxyActivities,
  proxyLocalActivities,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { createActivities } from '../../activities';
import { APPROVAL_ACTION } from '../../shared/approvals';
import { NON_RETRYABLE_FAILURE_TYPES } from '../../shared/errors';
import { newPhaseClock, startClock, stopClock } from '../../shared/limits';
import { formatDuration } from '../../shared/duration';
import { countIndices } from '../../shared/ranges';
import { unitKey, type UnitPlan } from '../../shared/scheduling';
import {
  quotaWaitOf,
  stepTimeoutMs,
  toolTimeoutsOf,
  WAIT_ACTION,
  waitDurationMs,
  type PlannedStep,
} from '../../shared/spec';
import {
  isArtifactRef,
  resolveForEach,
  resolveStepInput,
  type CurrentItem,
  type ModelJournal,
  type StepResult,
} from '../../shared/step-io';
import { stoppedAt, type StoppedStep } from '../../shared/task-state';
import { outcomeOf, spend } from './activity-outcomes';
import { answersFor, approvalStep, awaitApproval } from './approvals';
import { budgetForStep } from './budget';
import { failureMessage, note, now, type RunningUnit, type StepOutcome, type TaskRun } from './run';

type Activities = ReturnType<typeof createActivities>;

const { countItems } = proxyLocalActivities<Activities>({ startToCloseTimeout: '1 minute' });

/** Starts a unit; its outcome is queued in `run.live.settled` when it ends. */
export function startUnit(run: TaskRun, plan: UnitPlan, resumed: boolean): RunningUnit {
  const step = run.plan.steps[plan.stepIndex] as PlannedStep;
  const item = plan.kind === 'item' ? plan.item : null;
  const from = stoppedOf(run, { step, item });
  const unit: RunningUnit = {
    key: unitKey(step.step.id, plan),
    plan,
    step,
    item,
    scope: new CancellationScope(),
    status: 'working',
    startedAt: now(),
    // This workflow task completes with the event right after its WorkflowTaskStarted (historyLength).
    resetEventId: workflowInfo().historyLength + 1,
    items: from?.items ? { ...from.items } : null,
    round: from?.round ?? 0,
    usage: null,
    waitReason: null,
  };
  run.live.running.set(unit.key, unit);
  run.live.startedThisRun++;
  run.state.clocks[step.phaseIndex] ??= newPhaseClock(step.phaseIndex, now());
  syncClocks(run);
  void unit.scope
    .run(() => runUnit(run, unit, resumed))
    .then((outcome) => {
      run.live.running.delete(unit.key);
      run.live.settled.push({ unit, outcome });
      syncClocks(run);
    });
  return unit;
}

/** Where a step or fan-out item last stopped, if it did. */
export function stoppedOf(run: TaskRun, unit: Pick<RunningUnit, 'step' | 'item'>): StoppedStep | undefined {
  const id = unit.step.step.id;
  return unit.item === null ? run.state.stopped[id] : run.state.fans[id]?.stopped[String(unit.item)];
}

/** Phase clocks run while a unit of the phase works; waits and pauses do not count. */
export function syncClocks(run: TaskRun): void {
  const working = new Set<number>();
  for (const u of run.live.running.values()) if (u.status === 'working') working.add(u.step.phaseIndex);
  for (const [index, clock] of Object.entries(run.state.clocks)) {
    run.state.clocks[index] = working.has(clock.index) ? startClock(clock, now()) : stopClock(clock, now());
  }
}

function runUnit(run: TaskRun, unit: RunningUnit, resumed: boolean): Promise<StepOutcome> {
  switch (unit.plan.kind) {
    case 'fan-init':
      return openFanOut(run, unit);
    case 'gather':
      return gatherFanOut(run, unit);
    default:
      return unit.step.step.action === WAIT_ACTION
        ? waitStep(run, unit)
        : unit.step.step.action === APPROVAL_ACTION
          ? approvalStep(run, unit)
          : actionStep(run, unit, resumed);
  }
}

/** Waits `ms` on a durable timer (its phase's clock stopped meanwhile); returns the time left if stopped. */
async function durableWait(run: TaskRun, unit: RunningUnit, ms: number): Promise<number | null> {
  unit.status = 'waiting';
  syncClocks(run);
  const started = now();
  try {
    await sleep(ms);
    return null;
  } catch (err) {
    if (isCancellation(err)) return Math.max(0, ms - (now() - started));
    throw err;
  } finally {
    unit.status = 'working';
    syncClocks(run);
  }
}

/** A `longrun.wait` step: a durable timer in the workflow itself, holding no worker. */
async function waitStep(run: TaskRun, unit: RunningUnit): Promise<StepOutcome> {
  const total = waitDurationMs(unit.step.step.input);
  const left = await durableWait(run, unit, stoppedOf(run, unit)?.waitMs ?? total);
  return left === null
    ? { kind: 'completed', output: { waitedMs: total } }
    : { kind: 'stopped', stopped: stoppedAt(null, left) };
}

/** The current item of a fan-out sub-step. */
function currentItem(run: TaskRun, unit: RunningUnit): CurrentItem | undefined {
  if (unit.item === null) return undefined;
  const fan = run.state.fans[unit.step.step.id];
  if (fan?.artifact) return { index: unit.item, artifact: fan.artifact };
  const items = resolveForEach(unit.step.step.forEach as unknown[], run.state.outputs) as unknown[];
  return { index: unit.item, value: items[unit.item] };
}

/**
 * A step or fan-out item that runs an action: one `runStep` activity, again after each durable wait the
 * action asks for (`ctx.resumeAfter`) and each round of a repeating step.
 */
async function actionStep(run: TaskRun, unit: RunningUnit, resumed: boolean): Promise<StepOutcome> {
  const { step } = unit.step;
  const from = stoppedOf(run, unit);
  let cursor: unknown = from?.cursor ?? null;
  let waitMs = from?.waitMs ?? null;
  let journal: ModelJournal | undefined = from?.model;
  let again = resumed && from !== undefined;
  const repeat = step.repeat;
  const stoppedHere = (): StoppedStep => ({
    cursor,
    items: unit.items,
    waitMs: null,
    round: unit.round,
    ...(journal ? { model: journal } : {}),
  });
  for (;;) {
    if (waitMs !== null && waitMs > 0) {
      const left = await durableWait(run, unit, waitMs);
      unit.waitReason = null;
      if (unit.sentAway) unit.sentAway.waitedUntil = now();
      if (left !== null) return { kind: 'stopped', stopped: { ...stoppedHere(), waitMs: left } };
    }
    waitMs = null;
    let input: Record<string, unknown>;
    try {
      input = resolveStepInput(step.input, run.state.outputs, currentItem(run, unit));
    } catch (err) {
      return { kind: 'invalid', message: `step ${step.id}: ${failureMessage(err)}` };
    }
    let result: StepResult;
    try {
      result = await callRunStep(run, unit, input, cursor, again, journal);
    } catch (err) {
      ranAgain(run, unit);
      return outcomeOf(run, unit, err, stoppedHere());
    }
    again = false;
    if (result.resumeAfter?.reason !== 'resources') ranAgain(run, unit);
    spend(run, unit, result.usage);
    journal = undefined;
    if (result.approval) {
      const { request, cursor: at, done, total, model } = result.approval;
      cursor = at;
      unit.items = { done, total };
      journal = model;
      const answer = await awaitApproval(run, unit, request);
      if (answer === null) return { kind: 'stopped', stopped: stoppedHere() };
      continue; // the step runs again from its cursor and finds the answer
    }
    if (result.pause) {
      const { reason, cursor: at, done, total, model } = result.pause;
      cursor = at;
      unit.items = { done, total };
      journal = model;
      pauseRequested(run, `step ${unit.key}: ${reason}`);
      return { kind: 'stopped', stopped: stoppedHere() };
    }
    if (result.resumeAfter) {
      cursor = result.resumeAfter.cursor;
      unit.items = { done: result.resumeAfter.done, total: result.resumeAfter.total };
      waitMs = result.resumeAfter.ms;
      journal = result.resumeAfter.model;
      unit.waitReason = result.resumeAfter.reason ?? null;
      const sentAway = result.resumeAfter.reason === 'resources' ? result.resumeAfter.note : undefined;
      if (sentAway) {
        // Sent away again and again while its worker stays short: the log says so once.
        if (!unit.sentAway) note(run, 'warning', `step ${unit.key}: ${sentAway}`);
        unit.sentAway = {
          note: sentAway,
          since: unit.sentAway?.since ?? now(),
          times: (unit.sentAway?.times ?? 0) + 1,
        };
      }
      continue;
    }
    if (repeat && (repeat.times === undefined || unit.round + 1 < repeat.times)) {
      unit.round++;
      if (run.plan.keepOutputs.has(step.id)) run.state.outputs[step.id] = result.output;
      cursor = null;
      unit.items = null;
      waitMs = repeat.every;
      continue;
    }
    return { kind: 'completed', output: result.output };
  }
}

/**
 * A step sent away for resources got a worker that let it run (it ended, failed, paused or waits for
 * something else): the log says how long it was kept out, and a later resources wait is news again.
 * Said once the attempt ends, the only moment the workflow hears of it.
 */
function ranAgain(run: TaskRun, unit: RunningUnit): void {
  const away = unit.sentAway;
  if (!away) return;
  delete unit.sentAway;
  const times = away.times === 1 ? 'once' : `${away.times} times`;
  note(
    run,
    'info',
    `step ${unit.key}: ran again after ${formatDuration((away.waitedUntil ?? now()) - away.since)} waiting for a worker with resources (sent away ${times})`
  );
}

function callRunStep(
  run: TaskRun,
  unit: RunningUnit,
  input: Record<string, unknown>,
  cursor: unknown,
  resumed: boolean,
  journal: ModelJournal | undefined
): Promise<StepResult> {
  const { spec, policy, limits } = run;
  const { phase, step } = unit.step;
  const { runStep } = proxyActivities<Activities>({
    summary: `${phase.title ?? phase.id} > ${step.title ?? step.id}${unit.item === null ? '' : ` [${unit.item}]`}`,
    startToCloseTimeout: stepTimeoutMs(spec, step.timeout),
    heartbeatTimeout: policy.heartbeatTimeoutMs,
    cancellationType: 'WAIT_CANCELLATION_COMPLETED',
    retry: {
      initialInterval: policy.retry.initialIntervalMs,
      backoffCoefficient: policy.retry.backoffCoefficient,
      maximumInterval: policy.retry.maximumIntervalMs,
      // The SDK treats an absent maximumAttempts as unlimited; 0 is rejected.
      ...(policy.retry.maximumAttempts > 0 ? { maximumAttempts: policy.retry.maximumAttempts } : {}),
      nonRetryableErrorTypes: NON_RETRYABLE_FAILURE_TYPES,
    },
  });
  return runStep({
    taskId: spec.taskId,
    phaseId: phase.id,
    stepId: step.id,
    action: step.action,
    input,
    context: spec.context,
    artifactBackup: policy.artifactBackup,
    ...(cursor === null ? {} : { cursor }),
    limits: {
      idleWarningMs: limits.idleWarningMs,
      idlePauseMs: limits.idlePauseMs,
      tools: toolTimeoutsOf(spec),
      quotaWaitMs: quotaWaitOf(spec),
      ...(spec.resources?.essential ? { essential: true } : {}),
      ...(spec.resources?.workDisk ? { workDiskBytes: spec.resources.workDisk } : {}),
    },
    ...(unit.item === null
      ? {}
      : { item: { index: unit.item, keepOutput: run.plan.keepOutputs.has(step.id) } }),
    ...(step.repeat ? { round: unit.round } : {}),
    ...(resumed ? { resumed: true } : {}),
    ...(journal ? { model: journal } : {}),
    ...budgetForStep(run),
    ...answersFor(run, unit.key),
  });
}

/** A step asked to pause the task (`ctx.pauseTask`): as a pause request, unless one is already in. */
function pauseRequested(run: TaskRun, reason: string): void {
  const { requests } = run.live;
  if (requests.pause || requests.cancel || requests.limit) return;
  requests.pause = { reason, checkpointLabel: null };
  note(run, 'warning', `pause requested by ${reason}`);
}

/** Opens a fan-out: how many items, and where they live (inline or in an artifact). */
async function openFanOut(run: TaskRun, unit: RunningUnit): Promise<StepOutcome> {
  const { step } = unit.step;
  let source: unknown;
  try {
    source = resolveForEach(step.forEach as unknown[], run.state.outputs);
  } catch (err) {
    return { kind: 'invalid', message: `step ${step.id}: ${failureMessage(err)}` };
  }
  if (Array.isArray(source)) return { kind: 'fan-ready', total: source.length, artifact: null };
  if (!isArtifactRef(source)) {
    const got = source === null ? 'null' : typeof source;
    return {
      kind: 'invalid',
      message: `step ${step.id}: forEach must name an array or an artifact holding one (got ${got})`,
    };
  }
  try {
    const { count } = await countItems({ ref: source });
    return { kind: 'fan-ready', total: count, artifact: source };
  } catch (err) {
    if (isCancellation(err)) return { kind: 'stopped', stopped: stoppedAt(null) };
    return { kind: 'invalid', message: `step ${step.id}: forEach artifact: ${failureMessage(err)}` };
  }
}

/** Closes a fan-out: its output, with the items' outputs gathered when a later step or the result needs them. */
async function gatherFanOut(run: TaskRun, unit: RunningUnit): Promise<StepOutcome> {
  const { step } = unit.step;
  const fan = run.state.fans[step.id];
  const total = fan?.total ?? 0;
  const failedItems = fan?.failed ?? [];
  const summary = { items: total, completed: total - countIndices(failedItems), failedItems };
  if (!run.plan.keepOutputs.has(step.id)) return { kind: 'completed', output: summary };
  const { gatherItemOutputs } = proxyActivities<Activities>({
    summary: `gather the outputs of ${step.id}`,
    startToCloseTimeout: '10 minutes',
    retry: { maximumAttempts: 10 },
  });
  try {
    const { outputs } = await gatherItemOutputs({ taskId: run.spec.taskId, stepId: step.id, total });
    return { kind: 'completed', output: { ...summary, outputs } };
  } catch (err) {
    return outcomeOf(run, unit, err, stoppedAt(null));
  }
}
