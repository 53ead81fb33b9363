/**
 * The task's workspace at its checkpoints: each recorded checkpoint schedules a snapshot in the same
 * workflow task (so a Temporal reset to the checkpoint schedules it again, and the activity, finding
 * the snapshot taken, restores it); a rollback inside the workflow restores the target's snapshot.
 * Steps start again only once the snapshots are in.
 */
import { CancellationScope, proxyActivities } from '@temporalio/workflow';
import type { createActivities } from '../../activities';
import type { CheckpointRecord } from '../../shared/checkpoints';
import { note, failureMessage, type TaskRun } from './run';

type Activities = ReturnType<typeof createActivities>;

const { workspaceCheckpoint } = proxyActivities<Activities>({
  summary: 'workspace snapshot',
  startToCloseTimeout: '30 minutes',
  retry: { maximumAttempts: 5 },
});

function request(run: TaskRun, record: CheckpointRecord, mode: 'snapshot-or-restore' | 'restore') {
  return {
    taskId: run.spec.taskId,
    taskCreatedAt: run.state.lifecycle.createdAt,
    checkpointId: record.id,
    folder: run.spec.workspace as string,
    mode,
    // Where a reset to this checkpoint cuts the history: the activity tells a reset from an id reused.
    runId: record.runId,
    historyLength: record.resetEventId - 1,
  };
}

/** Schedules the snapshot of a checkpoint just recorded (at once: in this workflow task). */
export function snapshotAt(run: TaskRun, record: CheckpointRecord): void {
  // A recovery checkpoint's reset point is an earlier workflow task: its snapshot would be the failure's.
  if (!run.spec.workspace || record.type === 'recovery') return;
  run.live.snapshots.push(
    // Not cancellable: a checkpoint recorded while the task is being cancelled still gets its snapshot.
    CancellationScope.nonCancellable(() =>
      workspaceCheckpoint(request(run, record, 'snapshot-or-restore'))
    ).then(
      (r) => {
        record.workspace = { files: r.files, bytes: r.bytes, newBytes: r.newBytes };
        if (r.action === 'restore')
          note(
            run,
            'checkpoint',
            `${record.id}: workspace restored (${r.restored} files written, ${r.removed} removed)`
          );
      },
      (err: unknown) => {
        record.workspace = { error: failureMessage(err) };
        note(run, 'warning', `${record.id}: workspace snapshot failed: ${failureMessage(err)}`);
      }
    )
  );
}

/**
 * Waits for the snapshots scheduled so far. Callers await it only when `run.live.snapshots` is not
 * empty: one more `await` on the path of a task without a workspace would reorder its commands and
 * break the replay of its history.
 */
export async function snapshotsTaken(run: TaskRun): Promise<void> {
  while (run.live.snapshots.length) await Promise.all(run.live.snapshots.splice(0));
}

/** Puts the workspace back as it was at `record` (a rollback inside the workflow). */
export async function restoreWorkspace(run: TaskRun, record: CheckpointRecord): Promise<void> {
  if (!run.spec.workspace || !record.workspace || 'error' in record.workspace) return;
  try {
    const r = await workspaceCheckpoint(request(run, record, 'restore'));
    note(
      run,
      'control',
      `workspace restored to ${record.id} (${r.restored} files written, ${r.removed} removed)`
    );
  } catch (err) {
    note(run, 'warning', `workspace not restored to ${record.id}: ${failureMessage(err)}`);
  }
}
