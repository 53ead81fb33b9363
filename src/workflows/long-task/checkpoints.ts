/**
 * Stopping the running set and recording named checkpoints. Every checkpoint is recorded while no
 * unit runs, so it holds each step's cursor of that moment, and in a workflow task that a reset to it
 * replays as it was (not the one that carried the request): rolling back to a checkpoint keeps it.
 */
import { condition, sleep, workflowInfo } from '@temporalio/workflow';
import { pruneCheckpoints, type CheckpointRecord, type CheckpointType } from '../../shared/checkpoints';
import { firstNotDone } from '../../shared/task-plan';
import { applySettled } from './outcomes';
import { snapshotAt, snapshotsTaken } from './workspace';
import { publish } from './progress';
import { move, note, now, type TaskRun } from './run';

/**
 * Stops every running unit (each hands its cursor over, as for a pause) and applies their outcomes.
 * Returns how many were running.
 */
export async function stopAll(run: TaskRun): Promise<number> {
  const units = [...run.live.running.values()];
  for (const unit of units) unit.scope.cancel();
  await condition(() => run.live.running.size === 0);
  applySettled(run);
  return units.length;
}

/** Records a checkpoint of where the task stands now; the caller has stopped the running set. */
export function recordCheckpoint(
  run: TaskRun,
  type: CheckpointType,
  label: string,
  resetEventId?: number
): CheckpointRecord {
  const { state, plan } = run;
  const at = firstNotDone(plan, state.done);
  const info = workflowInfo();
  const record: CheckpointRecord = {
    id: `${type}-${++state.checkpointSeq}`,
    type,
    label,
    stepIndex: at?.index ?? plan.steps.length,
    stepId: at?.step.id ?? null,
    cursor: at ? (state.stopped[at.step.id]?.cursor ?? null) : null,
    runId: info.runId,
    // This workflow task completes with the event right after its WorkflowTaskStarted (historyLength).
    resetEventId: resetEventId ?? info.historyLength + 1,
    at: now(),
    position: { done: state.done, stopped: { ...state.stopped }, fans: structuredCopy(state.fans) },
  };
  state.checkpoints = pruneCheckpoints([...state.checkpoints, record]);
  snapshotAt(run, record);
  note(
    run,
    type === 'milestone' ? 'milestone' : 'checkpoint',
    `${record.id}: ${label}`,
    record.stepId ?? undefined
  );
  return record;
}

function structuredCopy<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/**
 * Records the checkpoints owed and requested: stops the running set (the task is `checkpointing` while
 * its steps hand over), records each, and leaves the steps to be started again by the scheduler.
 */
export async function takeCheckpoints(run: TaskRun): Promise<void> {
  const { live, state } = run;
  const executing = state.lifecycle.state === 'executing';
  if (executing) move(run, 'checkpointing', 'stopping the running steps to record a checkpoint');
  publish(run);
  const stopped = await stopAll(run);
  // A checkpoint recorded in the workflow task that took its request would be lost by a reset to it.
  const requestedNow = live.requests.checkpoints.some((c) => c.requestedIn === workflowInfo().historyLength);
  if (stopped === 0 && requestedNow) await sleep(1);
  for (const due of live.due.splice(0)) recordCheckpoint(run, due.type, due.label);
  for (const request of live.requests.checkpoints.splice(0))
    request.record = recordCheckpoint(run, 'manual', request.label);
  if (run.live.snapshots.length) await snapshotsTaken(run);
  if (executing && state.lifecycle.state === 'checkpointing') move(run, 'executing', 'checkpoint recorded');
  publish(run);
}
