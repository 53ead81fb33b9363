import {
  ActivityFailure,
  ApplicationFailure,
  CancelledFailure,
  TimeoutFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  isCancellation,
  log,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { SearchAttributePair } from '@temporalio/common';
import type { createActivities } from '../activities';
import { pruneCheckpoints, type CheckpointRecord, type CheckpointType } from '../shared/checkpoints';
import { durabilityPolicy, type DurabilityPolicy } from '../shared/durability';
import { FailureType, NON_RETRYABLE_FAILURE_TYPES } from '../shared/errors';
import { durations, isFinal, newLifecycle, transition, type LifecycleState } from '../shared/lifecycle';
import { currentDetailsMarkdown, weightedPercent, type TaskProgress } from '../shared/progress';
import { appendSample } from '../shared/samples';
import {
  LongrunAgent,
  LongrunDurability,
  LongrunPhase,
  LongrunProgress,
  LongrunState,
} from '../shared/search-attributes';
import {
  flattenSteps,
  referencedSteps,
  stepTimeoutMs,
  TaskSpecSchema,
  WAIT_ACTION,
  waitDurationMs,
  type PlannedStep,
  type TaskSpec,
  type TaskSpecInput,
} from '../shared/spec';
import { isStepHeartbeat, resolveStepInput } from '../shared/step-io';
import type { CarriedState } from '../shared/task-state';
import { issuesOf } from '../shared/validation';
import { checkpointUpdate, checkpointsQuery, lifecycleQuery, planQuery, progressQuery } from './messages';

type Activities = ReturnType<typeof createActivities>;

export { checkpointUpdate, checkpointsQuery, lifecycleQuery, planQuery, progressQuery } from './messages';

export interface LongTaskInput {
  spec: TaskSpecInput;
  /** State carried over from the previous run at continue-as-new; absent on the first run. */
  carried?: CarriedState;
  /**
   * Mirror state into longrun's search attributes. Off only for servers that cannot register custom
   * search attributes (Temporal's time-skipping test server). @default true
   */
  searchAttributes?: boolean;
}

export interface LongTaskResult {
  taskId: string;
  state: 'completed';
  /** Outputs of the steps later steps referenced, of milestone steps and of the last phase, by step id. */
  outputs: Record<string, Record<string, unknown>>;
  startedAt: number;
  completedAt: number;
  totalMs: number;
  activeMs: number;
  /** Workflow runs the task took (continue-as-new starts a new run). */
  runs: number;
  stepsCompleted: number;
}

const { describeHardware } = proxyLocalActivities<Activities>({ startToCloseTimeout: '30 seconds' });

/** The innermost cause's message: "Activity task failed" alone says nothing about what went wrong. */
function failureMessage(err: unknown): string {
  let current: unknown = err;
  while (current instanceof Error && current.cause instanceof Error) current = current.cause;
  return current instanceof Error ? current.message : String(current);
}

/** The cursor a stopped step reported: in its cancellation details or its last heartbeat before a timeout. */
function cursorOf(err: ActivityFailure): unknown {
  const cause = err.cause;
  const details =
    cause instanceof CancelledFailure
      ? cause.details[0]
      : cause instanceof TimeoutFailure
        ? cause.lastHeartbeatDetails
        : undefined;
  return isStepHeartbeat(details) && details.cursor !== null ? details.cursor : undefined;
}

function parseSpec(input: TaskSpecInput): TaskSpec {
  const parsed = TaskSpecSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const detail = issuesOf(parsed.error, 'spec')
    .map((i) => `${i.path}: ${i.rule}`)
    .join('; ');
  throw ApplicationFailure.create({ type: FailureType.InvalidSpec, message: detail, nonRetryable: true });
}

/**
 * A long task: runs the spec's phases and steps in order, one `runStep` activity per step, as one
 * logical workflow across continue-as-new runs. Completed steps are durable in history; inside a step
 * the activity's heartbeat cursor is the checkpoint. Named checkpoints (phase, milestone, pre-risky,
 * automatic, manual, recovery) record reset points for rollback.
 */
export async function longTask(input: LongTaskInput): Promise<LongTaskResult> {
  const spec = parseSpec(input.spec);
  if (input.carried && input.carried.v !== 1) {
    throw ApplicationFailure.create({
      type: FailureType.InvalidSpec,
      message: `carried state version ${String(input.carried.v)} is not supported`,
      nonRetryable: true,
    });
  }
  const steps = flattenSteps(spec);
  const weights = steps.map((s) => s.step.weight);
  const totalWeight = weights.reduce((a, b) => a + b, 0);
  const lastPhase = spec.phases[spec.phases.length - 1];
  const keepOutputs = referencedSteps(spec);
  for (const s of steps) if (s.step.milestone || s.phase === lastPhase) keepOutputs.add(s.step.id);
  const now = (): number => Date.now(); // workflow time: deterministic inside the sandbox

  const state: CarriedState = input.carried ?? {
    v: 1,
    nextStep: 0,
    outputs: {},
    cursors: {},
    lifecycle: newLifecycle(now()),
    checkpoints: [],
    checkpointSeq: 0,
    lastAutomaticAt: now(),
    progressHistory: [],
    hardware: 'standard',
    run: 1,
    stepsCompleted: 0,
  };
  let error: string | null = null;
  let policy: DurabilityPolicy = durabilityPolicy(spec.durability, {
    heartbeatTimeoutMs: spec.heartbeatTimeoutMs,
    hardware: state.hardware,
  });

  const move = (to: LifecycleState, trigger: string): void => {
    state.lifecycle = transition(state.lifecycle, to, trigger, now());
  };

  const recordCheckpoint = (type: CheckpointType, label: string): CheckpointRecord => {
    const during = state.lifecycle.state === 'executing';
    if (during) move('checkpointing', `${type} checkpoint`);
    const stepId = steps[state.nextStep]?.step.id ?? null;
    const info = workflowInfo();
    const record: CheckpointRecord = {
      id: `${type}-${++state.checkpointSeq}`,
      type,
      label,
      stepIndex: state.nextStep,
      stepId,
      cursor: stepId === null ? null : (state.cursors[stepId] ?? null),
      runId: info.runId,
      // This workflow task completes with the event right after its WorkflowTaskStarted (historyLength).
      resetEventId: info.historyLength + 1,
      at: now(),
    };
    state.checkpoints = pruneCheckpoints([...state.checkpoints, record]);
    if (during) move('executing', `${type} checkpoint recorded`);
    return record;
  };

  const progressOf = (): TaskProgress => {
    const current = steps[Math.min(state.nextStep, steps.length - 1)] as PlannedStep;
    const { totalMs, activeMs } = durations(state.lifecycle, now());
    const done = state.lifecycle.state === 'completed';
    return {
      taskId: spec.taskId,
      agent: spec.agent,
      title: spec.title ?? spec.taskId,
      state: state.lifecycle.state,
      percent: done ? 100 : weightedPercent(weights, state.stepsCompleted),
      phase: {
        index: current.phaseIndex,
        count: spec.phases.length,
        id: current.phase.id,
        title: current.phase.title ?? current.phase.id,
      },
      step: {
        index: current.index,
        count: steps.length,
        id: current.step.id,
        title: current.step.title ?? current.step.id,
        action: current.step.action,
      },
      stepShare: done ? 0 : (current.step.weight / totalWeight) * 100,
      stepsCompleted: state.stepsCompleted,
      items: null,
      startedAt: state.lifecycle.createdAt,
      updatedAt: now(),
      completedAt: done ? state.lifecycle.endedAt : null,
      elapsedMs: totalMs,
      activeMs,
      run: state.run,
      lastCheckpoint: state.checkpoints[state.checkpoints.length - 1]?.id ?? null,
      deadline: spec.deadline ?? null,
      error,
    };
  };

  let lastAttributes = '';
  /** Mirrors progress into Current Details and search attributes; call before each await. */
  const publish = (): void => {
    const progress = progressOf();
    setCurrentDetails(currentDetailsMarkdown(progress));
    const pairs: SearchAttributePair[] = [
      { key: LongrunState, value: progress.state },
      { key: LongrunAgent, value: spec.agent },
      { key: LongrunDurability, value: spec.durability },
      { key: LongrunPhase, value: progress.phase.id },
      { key: LongrunProgress, value: Math.floor(progress.percent) },
    ];
    // Each upsert is a history event: only write when a value really changed.
    const key = JSON.stringify(pairs.map((p) => p.value));
    if (input.searchAttributes !== false && key !== lastAttributes) {
      upsertSearchAttributes(pairs);
      lastAttributes = key;
    }
  };

  setHandler(progressQuery, progressOf, {
    description: 'Percent, lifecycle state, phase and step of the task (item progress: the pending activity)',
  });
  setHandler(checkpointsQuery, () => state.checkpoints, {
    description: 'Named checkpoints to roll back to, oldest first',
  });
  setHandler(
    lifecycleQuery,
    () => ({
      ...state.lifecycle,
      ...durations(state.lifecycle, now()),
      progressHistory: state.progressHistory,
    }),
    { description: 'Lifecycle state, transition log, total and active time, progress history' }
  );
  setHandler(
    planQuery,
    () =>
      steps.map((s) => ({
        index: s.index,
        id: s.step.id,
        phaseId: s.phase.id,
        action: s.step.action,
        title: s.step.title ?? s.step.id,
      })),
    { description: 'The steps of the task in order' }
  );
  setHandler(checkpointUpdate, ({ label }) => recordCheckpoint('manual', label.trim()), {
    description: 'Record a manual checkpoint now: {"label": "..."}',
    validator: (request) => {
      const label: unknown = (request as { label?: unknown } | undefined)?.label;
      if (typeof label !== 'string' || label.trim() === '' || label.length > 200) {
        throw new Error('label: must be a non-empty string of at most 200 characters');
      }
      if (isFinal(state.lifecycle.state) || state.lifecycle.state === 'failed') {
        throw new Error(`cannot record a checkpoint: the task is ${state.lifecycle.state}`);
      }
    },
  });

  /** A `longrun.wait` step: a durable timer in the workflow itself. */
  const waitStep = async (stepInput: Record<string, unknown>): Promise<Record<string, unknown>> => {
    const ms = waitDurationMs(stepInput);
    await sleep(ms);
    return { waitedMs: ms };
  };

  /** Any other step: one `runStep` activity, resuming from a carried-over cursor if it has one. */
  const activityStep = async (planned: PlannedStep, stepInput: Record<string, unknown>) => {
    const { phase, step } = planned;
    const { runStep } = proxyActivities<Activities>({
      summary: `${phase.title ?? phase.id} > ${step.title ?? step.id}`,
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
    const cursor = state.cursors[step.id];
    const result = await runStep({
      taskId: spec.taskId,
      phaseId: phase.id,
      stepId: step.id,
      action: step.action,
      input: stepInput,
      context: spec.context,
      artifactBackup: policy.artifactBackup,
      ...(cursor === undefined ? {} : { cursor }),
    });
    return result.output;
  };

  if (!input.carried) {
    move('planning', 'task started');
    publish();
    state.hardware = (await describeHardware()).profile;
    policy = durabilityPolicy(spec.durability, {
      heartbeatTimeoutMs: spec.heartbeatTimeoutMs,
      hardware: state.hardware,
    });
    move('executing', `plan ready: ${steps.length} steps in ${spec.phases.length} phases`);
  }

  let stepsThisRun = 0;
  while (state.nextStep < steps.length) {
    const planned = steps[state.nextStep] as PlannedStep;
    const { phase, step } = planned;

    const info = workflowInfo();
    const historyFull =
      info.continueAsNewSuggested ||
      (policy.continueAsNewAfterEvents > 0 && info.historyLength >= policy.continueAsNewAfterEvents);
    if (historyFull && stepsThisRun > 0) {
      publish();
      await condition(allHandlersFinished);
      log.info('continuing as new', {
        taskId: spec.taskId,
        run: state.run,
        historyLength: info.historyLength,
      });
      // The spec as given (without filled-in defaults) keeps the carried payload small.
      return await continueAsNew<typeof longTask>({
        ...input,
        carried: { ...state, run: state.run + 1 },
      });
    }

    if (now() - state.lastAutomaticAt >= policy.automaticCheckpointEveryMs) {
      recordCheckpoint('automatic', `automatic, before step ${step.id}`);
      state.lastAutomaticAt = now();
    }
    if (step.risky) recordCheckpoint('pre-risky', `before risky step ${step.id}`);
    publish();

    let stepInput: Record<string, unknown>;
    try {
      stepInput = resolveStepInput(step.input, state.outputs);
    } catch (err) {
      error = `step ${step.id}: ${failureMessage(err)}`;
      move('failed', error);
      publish();
      throw ApplicationFailure.create({ type: FailureType.InvalidSpec, message: error, nonRetryable: true });
    }
    let output: Record<string, unknown>;
    try {
      output =
        step.action === WAIT_ACTION ? await waitStep(stepInput) : await activityStep(planned, stepInput);
    } catch (err) {
      if (isCancellation(err)) {
        if (err instanceof ActivityFailure) {
          const cursor = cursorOf(err);
          if (cursor !== undefined) state.cursors[step.id] = cursor;
        }
        recordCheckpoint('manual', `final checkpoint: cancelled during step ${step.id}`);
        move('cancelled', 'cancel requested');
        publish();
        throw err;
      }
      // Anything but a failed activity is a bug in workflow code: let the workflow task retry.
      if (!(err instanceof ActivityFailure)) throw err;
      const cursor = cursorOf(err);
      if (cursor !== undefined) state.cursors[step.id] = cursor;
      error = `step ${step.id} failed: ${failureMessage(err)}`;
      recordCheckpoint('recovery', `retry point: step ${step.id} failed`);
      move('failed', error);
      publish();
      log.error('step failed', { taskId: spec.taskId, stepId: step.id, error });
      throw err;
    }

    if (keepOutputs.has(step.id)) state.outputs[step.id] = output;
    delete state.cursors[step.id];
    state.nextStep++;
    state.stepsCompleted++;
    stepsThisRun++;
    state.progressHistory = appendSample(state.progressHistory, {
      at: now(),
      percent: weightedPercent(weights, state.stepsCompleted),
      stepsCompleted: state.stepsCompleted,
    });
    if (step.milestone) recordCheckpoint('milestone', `after milestone step ${step.id}`);
    const next = steps[state.nextStep];
    if (!next || next.phase !== phase) recordCheckpoint('phase', `end of phase ${phase.id}`);
  }

  move('completing', 'all steps done');
  move('completed', 'result ready');
  publish();
  const { totalMs, activeMs } = durations(state.lifecycle, now());
  log.info('task completed', { taskId: spec.taskId, runs: state.run });
  return {
    taskId: spec.taskId,
    state: 'completed',
    outputs: state.outputs,
    startedAt: state.lifecycle.createdAt,
    completedAt: state.lifecycle.endedAt ?? now(),
    totalMs,
    activeMs,
    runs: state.run,
    stepsCompleted: state.stepsCompleted,
  };
}
