import type { ApprovalAnswer, ApprovalDecision } from '../shared/approvals';
import type { ActivityEntry } from '../shared/activity-log';
import type { CheckpointRecord } from '../shared/checkpoints';
import type { CancelRequest, ExtendRequest, PauseRequest, ResumeRequest } from '../shared/control';
import type { FailureRecord } from '../shared/failures';
import type { TaskProgress } from '../shared/progress';
import type { LifecycleView, PartialResult } from '../workflows/messages';
import type { LongrunClient } from './client';
import type { RetryResult, RollbackResult, StartedTask, TaskResult, TaskStatus, WatchOptions } from './types';

/** A task bound to its id: each method is the client's operation of the same name, for this task. */
export class TaskHandle {
  constructor(
    private readonly longrun: LongrunClient,
    readonly taskId: string,
    /** The run the task was in when the handle was made (continue-as-new moves on). */
    readonly runId: string
  ) {}
  progress(): Promise<TaskProgress> {
    return this.longrun.progress(this.taskId);
  }
  status(): Promise<TaskStatus> {
    return this.longrun.status(this.taskId);
  }
  pause(request?: PauseRequest): Promise<TaskProgress> {
    return this.longrun.pause(this.taskId, request);
  }
  resume(request?: ResumeRequest): Promise<TaskProgress> {
    return this.longrun.resume(this.taskId, request);
  }
  cancel(request?: CancelRequest): Promise<TaskProgress> {
    return this.longrun.cancel(this.taskId, request);
  }
  extend(request: ExtendRequest): Promise<TaskProgress> {
    return this.longrun.extend(this.taskId, request);
  }
  approve(answer?: ApprovalAnswer): Promise<ApprovalDecision> {
    return this.longrun.approve(this.taskId, answer);
  }
  reject(answer?: ApprovalAnswer): Promise<ApprovalDecision> {
    return this.longrun.reject(this.taskId, answer);
  }
  continueTask(request: { by: string | number; reason?: string }): Promise<StartedTask> {
    return this.longrun.continueTask(this.taskId, request);
  }
  checkpoint(label: string): Promise<CheckpointRecord> {
    return this.longrun.checkpoint(this.taskId, label);
  }
  checkpoints(): Promise<CheckpointRecord[]> {
    return this.longrun.checkpoints(this.taskId);
  }
  rollback(checkpointId: string): Promise<RollbackResult> {
    return this.longrun.rollback(this.taskId, checkpointId);
  }
  retry(options?: { from?: string }): Promise<RetryResult> {
    return this.longrun.retry(this.taskId, options);
  }
  logs(): Promise<ActivityEntry[]> {
    return this.longrun.logs(this.taskId);
  }
  failures(): Promise<FailureRecord[]> {
    return this.longrun.failures(this.taskId);
  }
  lifecycle(): Promise<LifecycleView> {
    return this.longrun.lifecycle(this.taskId);
  }
  watch(options?: WatchOptions): AsyncGenerator<TaskProgress, void, void> {
    return this.longrun.watch(this.taskId, options);
  }
  result(): Promise<TaskResult> {
    return this.longrun.result(this.taskId);
  }
  partialResult(): Promise<PartialResult> {
    return this.longrun.partialResult(this.taskId);
  }
}
