/**
 * The messages a longrun task answers, by the names the Temporal CLI and Web UI show. Every control
 * operation exists twice: an update (validated before it is accepted: a refused request changes
 * nothing and says why) and a signal of the same meaning for fire-and-forget use (a refused signal is
 * ignored and noted in the activity log).
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { ApprovalAnswer, ApprovalDecision } from '../shared/approvals';
import type { ActivityEntry } from '../shared/activity-log';
import type { CheckpointRecord } from '../shared/checkpoints';
import type { FailureRecord } from '../shared/failures';
import type {
  CancelRequest,
  CheckpointRequest,
  ExtendRequest,
  PauseRequest,
  ResumeRequest,
} from '../shared/control';
import type { Durations, LifecycleRecord } from '../shared/lifecycle';
import type { TaskProgress } from '../shared/progress';
import type { ProgressSample } from '../shared/samples';
import type { StepProgressReport } from '../shared/step-io';

export type { CancelRequest, CheckpointRequest, ExtendRequest, PauseRequest, ResumeRequest };

/** `temporal workflow query --type progress --workflow-id <task id>` */
export const progressQuery = defineQuery<TaskProgress>('progress');

/** Named checkpoints, oldest first (pruned: latest 10 + milestones + phases, at most 50). */
export const checkpointsQuery = defineQuery<CheckpointRecord[]>('checkpoints');

export interface LifecycleView extends LifecycleRecord, Durations {
  progressHistory: ProgressSample[];
}
/** The lifecycle state, the transition log, total/active durations and the progress history. */
export const lifecycleQuery = defineQuery<LifecycleView>('lifecycle');

/** The failure history: step, kind, message, attempt, time and the decision taken (latest 50). */
export const failuresQuery = defineQuery<FailureRecord[]>('failures');

/** The task's activity log, oldest first (the latest 100 entries). */
export const logsQuery = defineQuery<ActivityEntry[]>('logs');

export interface PartialResult {
  taskId: string;
  state: string;
  /** Kept outputs of the completed steps, by step id. */
  outputs: Record<string, Record<string, unknown>>;
  stepsCompleted: number;
  /** Steps of the task. */
  stepCount: number;
  /** The workflow run (continue-as-new starts a new one). */
  run: number;
  /** The latest named checkpoint (on cancel: the final one, holding the stopped step's cursor). */
  lastCheckpoint: CheckpointRecord | null;
  /** Why the task was cancelled or failed, if it was. */
  reason: string | null;
}
/** What the task has produced so far; after a cancel, its partial results. */
export const resultQuery = defineQuery<PartialResult>('result');

/** Records a `manual` checkpoint at the current point; returns the record. */
export const checkpointUpdate = defineUpdate<CheckpointRecord, [CheckpointRequest]>('checkpoint');

/** Pauses the task: its running step stops at its next item and saves its cursor. Returns once paused. */
export const pauseUpdate = defineUpdate<TaskProgress, [PauseRequest]>('pause');
/** Resumes a paused task from where its step stopped. */
export const resumeUpdate = defineUpdate<TaskProgress, [ResumeRequest]>('resume');
/** Cancels the task gracefully: final checkpoint, partial results kept. Returns once it has stopped. */
export const cancelUpdate = defineUpdate<TaskProgress, [CancelRequest]>('cancel');
/** Moves the task's deadline: `{"by": "2h"}` or `{"until": "2026-12-01T00:00:00Z"}`. */
export const extendUpdate = defineUpdate<TaskProgress, [ExtendRequest]>('extend');

/** Approves the task's pending approval (`{"id"?, "by"?, "note"?}`); returns the decision recorded. */
export const approveUpdate = defineUpdate<ApprovalDecision, [ApprovalAnswer]>('approve');
/** Rejects the task's pending approval (`{"id"?, "by"?, "note"?}`); returns the decision recorded. */
export const rejectUpdate = defineUpdate<ApprovalDecision, [ApprovalAnswer]>('reject');

/** Fire-and-forget twins of the updates (`temporal workflow signal --name requestPause ...`). */
export const pauseSignal = defineSignal<[PauseRequest]>('requestPause');
export const resumeSignal = defineSignal<[ResumeRequest]>('requestResume');
export const cancelSignal = defineSignal<[CancelRequest]>('requestCancel');
export const extendSignal = defineSignal<[ExtendRequest]>('requestExtend');
export const checkpointSignal = defineSignal<[CheckpointRequest]>('requestCheckpoint');

/** Sent by a running step (not by people): its item progress, for the query and the Web UI. */
export const stepProgressSignal = defineSignal<[StepProgressReport]>('stepProgress');

export interface PlannedStepView {
  index: number;
  id: string;
  phaseId: string;
  action: string;
  title: string;
  /** Steps it waits for (engine v2; absent from tasks started before it). */
  needs?: string[];
  /** `done` includes skipped steps; `started`: running, waiting or stopped with a cursor (engine v2). */
  status?: 'pending' | 'started' | 'done' | 'skipped';
}
/** The task's steps in declaration order (ids, phases, actions, what each waits for and where it is). */
export const planQuery = defineQuery<PlannedStepView[]>('plan');
