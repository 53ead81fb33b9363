/**
 * `longrun/client`: the typed client alone. Every type its signatures use is exported here, so a
 * caller can name it.
 */
export { LongrunClient } from './client';
export { TaskHandle } from './handle';
export {
  InvalidTransitionError,
  TaskRequestRejectedError,
  UnknownCheckpointError,
  UnknownTaskError,
} from './errors';
export { FailedFilterSchema, ListFilterSchema } from './types';
export type {
  CheckedAgainst,
  ConnectOptions,
  FailedFilter,
  FailedTask,
  ListFilter,
  RetryResult,
  RollbackResult,
  StartedTask,
  StartOptions,
  TaskResult,
  TaskStatus,
  StepRetry,
  TaskSummary,
  WatchOptions,
  WorkflowExecutionStatusName,
} from './types';
export { MAX_SPEC_BYTES } from '../shared/spec-check';
export { loadClientConfig } from '../runtime/config';
export type { ClientConfig, TlsSettings } from '../runtime/config';
export type { ActionCatalog, PublishedAction } from '../shared/action-catalog';
export type { ActivityEntry, ActivityKind } from '../shared/activity-log';
export type { CheckpointPosition, CheckpointRecord, CheckpointType } from '../shared/checkpoints';
export type {
  CancelRequest,
  CheckpointRequest,
  ControlKind,
  ExtendRequest,
  PauseRequest,
  ResumeRequest,
} from '../shared/control';
export type { FailureRecord } from '../shared/failures';
export type { LifecycleRecord, LifecycleState, Transition } from '../shared/lifecycle';
export type { LimitMarks, PhaseClock } from '../shared/limits';
export type { ItemProgress, RunningStepView, TaskProgress } from '../shared/progress';
export type { Range } from '../shared/ranges';
export type { ProgressSample } from '../shared/samples';
export type { TaskSpec, TaskSpecInput, PhaseSpec, StepSpec } from '../shared/spec';
export type { ArtifactRef, ModelJournal, StepOutput } from '../shared/step-io';
export type { ModelUsage } from '../shared/model-usage';
export type { ApprovalAnswer, ApprovalDecision, PendingApproval } from '../shared/approvals';
export type { BudgetDimension, BudgetLimit, BudgetLimits, BudgetLine, StepBudget } from '../shared/budget';
export type { LongTaskResult } from '../shared/task-result';
export type { CarriedState, CarriedStateV1, FanState, PauseRecord, StoppedStep } from '../shared/task-state';
export type { EtaConfidence, Velocity } from '../shared/velocity';
export type { LongTaskInput } from '../workflows/long-task';
export type { LifecycleView, PartialResult, PlannedStepView } from '../workflows/messages';
