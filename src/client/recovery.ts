/**
 * Running tasks again: Temporal resets to a named checkpoint's workflow task (rollback, retry of a
 * dead letter) or to the first one (retry from the start). The task keeps its id and history.
 */
import { randomUUID } from 'node:crypto';
import { WorkflowNotFoundError, type Client, type WorkflowExecutionDescription } from '@temporalio/client';
import { decodeArrayFromPayloads } from '@temporalio/common/lib/internal-non-workflow';
import { temporal } from '@temporalio/proto';
import Long from 'long';
import type { CheckpointRecord } from '../shared/checkpoints';
import { parseDuration } from '../shared/duration';
import { addIndex, type Range } from '../shared/ranges';
import { failureMemoOf, type LongTaskResult } from '../shared/task-result';
import { ValidationError } from '../shared/validation';
import type { LongTaskInput, longTask } from '../workflows/long-task';
import type { PlannedStepView } from '../workflows/messages';
import { InvalidTransitionError, UnknownCheckpointError, UnknownTaskError } from './errors';
import type { RetryResult } from './types';
import { runsOf } from './visibility';

/** A Temporal reset of `runId` to a workflow task; signals and updates after it are not reapplied. */
export async function resetTo(
  client: Client,
  taskId: string,
  runId: string,
  eventId: number,
  reason: string
): Promise<string> {
  const { ResetReapplyExcludeType } = temporal.api.enums.v1;
  const response: temporal.api.workflowservice.v1.IResetWorkflowExecutionResponse =
    await client.workflowService.resetWorkflowExecution({
      namespace: client.options.namespace,
      workflowExecution: { workflowId: taskId, runId },
      workflowTaskFinishEventId: Long.fromNumber(eventId),
      reason,
      requestId: randomUUID(),
      resetReapplyExcludeTypes: [
        ResetReapplyExcludeType.RESET_REAPPLY_EXCLUDE_TYPE_SIGNAL,
        ResetReapplyExcludeType.RESET_REAPPLY_EXCLUDE_TYPE_UPDATE,
      ],
    });
  return response.runId ?? '';
}

/** Resets to the workflow task that recorded `checkpoint`. */
export function resetToCheckpoint(
  client: Client,
  taskId: string,
  checkpoint: CheckpointRecord,
  why: string
): Promise<string> {
  return resetTo(
    client,
    taskId,
    checkpoint.runId,
    checkpoint.resetEventId,
    `longrun ${why} ${checkpoint.id} (${checkpoint.label})`
  );
}

/** The task's first run and the event id of its first completed workflow task. */
async function firstRun(client: Client, taskId: string): Promise<{ runId: string; eventId: number }> {
  const [first] = await runsOf(client, taskId);
  if (!first) throw new UnknownTaskError(taskId);
  const history = await client.workflow.getHandle(taskId, first.runId).fetchHistory();
  const { EventType } = temporal.api.enums.v1;
  const completed = history.events?.find((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED);
  if (!completed?.eventId) throw new Error(`task "${taskId}": its first run never completed a workflow task`);
  return { runId: first.runId, eventId: Number(completed.eventId) };
}

/**
 * Runs a failed task again from its recovery checkpoint, another named checkpoint, or the start.
 * `latest` is the task's latest run; `rollback` handles a task without a failure memo (older tasks).
 */
export async function retryTask(
  client: Client,
  taskId: string,
  latest: WorkflowExecutionDescription | undefined,
  from: string,
  rollback: (checkpointId: string) => Promise<{ checkpoint: CheckpointRecord; runId: string }>
): Promise<RetryResult> {
  if (typeof from !== 'string' || from.trim() === '') {
    throw new ValidationError('retry options', [
      { path: 'from', rule: 'must be "start", "recovery" or a checkpoint id' },
    ]);
  }
  if (!latest) throw new UnknownTaskError(taskId);
  if (latest.status.name !== 'FAILED') {
    throw new InvalidTransitionError(
      taskId,
      'retry',
      `the task is ${latest.status.name.toLowerCase()}, not failed; only a failed task can be retried`
    );
  }
  if (from === 'start') {
    const first = await firstRun(client, taskId);
    const runId = await resetTo(client, taskId, first.runId, first.eventId, 'longrun retry from the start');
    return { taskId, from, checkpoint: null, runId };
  }
  const memo = failureMemoOf(latest.memo);
  if (from === 'recovery') {
    const checkpoint = memo?.recoveryCheckpoint;
    if (!checkpoint) {
      throw new InvalidTransitionError(
        taskId,
        'retry',
        'the task has no recovery checkpoint (it failed before longrun recorded them): retry from "start" or a checkpoint id'
      );
    }
    const runId = await resetToCheckpoint(client, taskId, checkpoint, 'retry from recovery checkpoint');
    return { taskId, from, checkpoint, runId };
  }
  // The failed run's memo lists its checkpoints: no query (and no worker) needed.
  if (!memo) {
    const rolled = await rollback(from);
    return { taskId, from, checkpoint: rolled.checkpoint, runId: rolled.runId };
  }
  const checkpoint = memo.checkpoints.find((c) => c.id === from);
  if (!checkpoint) {
    throw new UnknownCheckpointError(
      taskId,
      from,
      memo.checkpoints.map((c) => c.id)
    );
  }
  const runId = await resetToCheckpoint(client, taskId, checkpoint, 'retry from checkpoint');
  return { taskId, from, checkpoint, runId };
}

/** Plan indices done: from each step's status (engine v2), else the first `stepsCompleted` (v1). */
export function doneSteps(plan: PlannedStepView[], stepsCompleted: number): Range[] {
  if (plan.some((s) => s.status !== undefined)) {
    return plan.reduce<Range[]>(
      (set, s) => (s.status === 'done' || s.status === 'skipped' ? addIndex(set, s.index) : set),
      []
    );
  }
  return stepsCompleted > 0 ? [[0, stepsCompleted - 1]] : [];
}

/**
 * Starts the next execution of a task that stopped at a limit (`partial`), its limits moved by `by`,
 * from the state it stopped in; returns the new run's id.
 */
export async function continueAfterLimit(
  client: Client,
  taskQueue: string,
  taskId: string,
  request: { by: string | number; reason?: string }
): Promise<string> {
  let byMs: number;
  try {
    byMs = parseDuration(request?.by);
  } catch (err) {
    throw new ValidationError('continue request', [{ path: 'by', rule: (err as Error).message }]);
  }
  const handle = client.workflow.getHandle(taskId);
  const description = await handle.describe().catch((err: unknown) => {
    if (err instanceof WorkflowNotFoundError) throw new UnknownTaskError(taskId);
    throw err;
  });
  const ended =
    description.status.name === 'COMPLETED' ? ((await handle.result()) as LongTaskResult) : undefined;
  if (!ended || ended.state !== 'partial' || !ended.continuation) {
    const what = ended ? `ended ${ended.state}` : description.status.name.toLowerCase();
    throw new InvalidTransitionError(
      taskId,
      'continue',
      `the task ${what}; only a task stopped at a limit (partial) can be continued`
    );
  }
  // The spec as the run was started with it: the first event of the latest run.
  const history = await handle.fetchHistory();
  const started = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads ?? [];
  const [input] = (await decodeArrayFromPayloads(client.options.loadedDataConverter, started)) as [
    LongTaskInput,
  ];
  const next = await client.workflow.start<typeof longTask>('longTask', {
    taskQueue: taskQueue,
    workflowId: taskId,
    args: [
      {
        spec: input.spec,
        carried: ended.continuation,
        continued: { byMs, reason: request.reason ?? 'continue requested' },
        ...(input.searchAttributes === false ? { searchAttributes: false } : {}),
      },
    ],
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    workflowIdConflictPolicy: 'FAIL',
    staticSummary: `${taskId}, continued after its limit (+${request.by})`,
  });
  return next.firstExecutionRunId;
}
