import {
  ActivityFailure,
  ApplicationFailure,
  defineQuery,
  isCancellation,
  log,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { SearchAttributePair } from '@temporalio/common';
import type { createActivities } from '../activities';
import { durabilityPolicy } from '../shared/durability';
import { FailureType, NON_RETRYABLE_FAILURE_TYPES } from '../shared/errors';
import {
  currentDetailsMarkdown,
  weightedPercent,
  type TaskProgress,
  type TaskState,
} from '../shared/progress';
import {
  LongrunAgent,
  LongrunDurability,
  LongrunPhase,
  LongrunProgress,
  LongrunState,
} from '../shared/search-attributes';
import { flattenSteps, TaskSpecSchema, type TaskSpec, type TaskSpecInput } from '../shared/spec';
import { resolveStepInput } from '../shared/step-io';
import { issuesOf } from '../shared/validation';

type Activities = ReturnType<typeof createActivities>;

/** The innermost cause's message: "Activity task failed" alone says nothing about what went wrong. */
function failureMessage(err: unknown): string {
  let current: unknown = err;
  while (current instanceof Error && current.cause instanceof Error) current = current.cause;
  return current instanceof Error ? current.message : String(current);
}

/** Query name `progress`: `temporal workflow query --type progress --workflow-id <task id>`. */
export const progressQuery = defineQuery<TaskProgress>('progress');

export interface LongTaskInput {
  spec: TaskSpecInput;
}

export interface LongTaskResult {
  taskId: string;
  state: 'completed';
  /** Each step's small output, by step id. */
  outputs: Record<string, Record<string, unknown>>;
  startedAt: number;
  completedAt: number;
}

/**
 * A long task: runs the spec's phases and steps in order, one `runStep` activity per step. Completed
 * steps are durable in the workflow history; inside a step the activity's heartbeat cursor is the
 * checkpoint, so a retried attempt resumes where the last one was recorded.
 */
export async function longTask(input: LongTaskInput): Promise<LongTaskResult> {
  const parsed = TaskSpecSchema.safeParse(input.spec);
  if (!parsed.success) {
    const detail = issuesOf(parsed.error, 'spec')
      .map((i) => `${i.path}: ${i.rule}`)
      .join('; ');
    throw ApplicationFailure.create({ type: FailureType.InvalidSpec, message: detail, nonRetryable: true });
  }
  const spec: TaskSpec = parsed.data;
  const steps = flattenSteps(spec);
  const weights = steps.map((s) => s.step.weight);
  const totalWeight = weights.reduce((a, b) => a + b, 0);
  const policy = durabilityPolicy(spec.durability, { heartbeatTimeoutMs: spec.heartbeatTimeoutMs });
  const outputs: Record<string, Record<string, unknown>> = {};
  const startedAt = Date.now(); // workflow time: deterministic inside the sandbox

  const progress: TaskProgress = {
    taskId: spec.taskId,
    agent: spec.agent,
    title: spec.title ?? spec.taskId,
    state: 'executing',
    percent: 0,
    phase: { index: 0, count: spec.phases.length, id: '', title: '' },
    step: { index: 0, count: steps.length, id: '', title: '', action: '' },
    stepShare: 0,
    stepsCompleted: 0,
    items: null,
    startedAt,
    updatedAt: startedAt,
    completedAt: null,
    error: null,
  };
  setHandler(progressQuery, () => progress, {
    description: 'Percent, state, phase and step of the task (item progress: see the pending activity)',
  });

  let lastAttributes = '';
  const publish = (): void => {
    progress.updatedAt = Date.now();
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
    if (key !== lastAttributes) {
      upsertSearchAttributes(pairs);
      lastAttributes = key;
    }
  };
  const setState = (state: TaskState): void => {
    progress.state = state;
    publish();
  };

  for (const planned of steps) {
    const { phase, step } = planned;
    progress.phase = {
      index: planned.phaseIndex,
      count: spec.phases.length,
      id: phase.id,
      title: phase.title ?? phase.id,
    };
    progress.step = {
      index: planned.index,
      count: steps.length,
      id: step.id,
      title: step.title ?? step.id,
      action: step.action,
    };
    progress.stepShare = (step.weight / totalWeight) * 100;
    progress.percent = weightedPercent(weights, planned.index);
    publish();

    const { runStep } = proxyActivities<Activities>({
      summary: `${progress.phase.title} > ${progress.step.title}`,
      startToCloseTimeout: '24 hours',
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
    let stepInput: Record<string, unknown>;
    try {
      stepInput = resolveStepInput(step.input, outputs);
    } catch (err) {
      progress.error = `step ${step.id}: ${err instanceof Error ? err.message : String(err)}`;
      setState('failed');
      throw ApplicationFailure.create({
        type: FailureType.InvalidSpec,
        message: progress.error,
        nonRetryable: true,
      });
    }
    try {
      const result = await runStep({
        taskId: spec.taskId,
        phaseId: phase.id,
        stepId: step.id,
        action: step.action,
        input: stepInput,
      });
      outputs[step.id] = result.output;
    } catch (err) {
      // Anything but a failed activity is a bug in workflow code: let the workflow task retry.
      if (!(err instanceof ActivityFailure)) throw err;
      if (isCancellation(err)) {
        setState('cancelled'); // `temporal workflow cancel`: the step stopped, the task ends cancelled
        throw err;
      }
      progress.error = `step ${step.id} failed: ${failureMessage(err)}`;
      setState('failed');
      log.error('step failed', { taskId: spec.taskId, stepId: step.id, error: progress.error });
      throw err;
    }
    progress.stepsCompleted = planned.index + 1;
  }

  progress.percent = 100;
  progress.completedAt = Date.now();
  setState('completed');
  log.info('task completed', { taskId: spec.taskId, runId: workflowInfo().runId });
  return { taskId: spec.taskId, state: 'completed', outputs, startedAt, completedAt: progress.completedAt };
}
