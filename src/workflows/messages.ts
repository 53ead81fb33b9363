import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { CheckpointRecord } from '../shared/checkpoints';
import type { Durations, LifecycleRecord } from '../shared/lifecycle';
import type { TaskProgress } from '../shared/progress';
import type { ProgressSample } from '../shared/samples';

/** `temporal workflow query --type progress --workflow-id <task id>` */
export const progressQuery = defineQuery<TaskProgress>('progress');

/** Named checkpoints, oldest first (pruned: latest 10 + milestones + phases, at most 50). */
export const checkpointsQuery = defineQuery<CheckpointRecord[]>('checkpoints');

export interface LifecycleView extends LifecycleRecord, Durations {
  progressHistory: ProgressSample[];
}
/** The lifecycle state, the transition log, total/active durations and the progress history. */
export const lifecycleQuery = defineQuery<LifecycleView>('lifecycle');

export interface CheckpointRequest {
  /** A name for the checkpoint, shown in lists. */
  label: string;
}
/** Records a `manual` checkpoint at the current point; returns the record. */
export const checkpointUpdate = defineUpdate<CheckpointRecord, [CheckpointRequest]>('checkpoint');

export interface PlannedStepView {
  index: number;
  id: string;
  phaseId: string;
  action: string;
  title: string;
}
/** The task's steps in order (ids, phases, actions). */
export const planQuery = defineQuery<PlannedStepView[]>('plan');
