/**
 * longrun: durable long-running agent tasks on Temporal. This entry point is the client side (start,
 * steer and read tasks) and what action modules import; it loads no worker code. Running a worker:
 * `longrun/worker`.
 *
 * @example
 * ```ts
 * import { LongrunClient, codebaseReviewSpec } from 'longrun';
 *
 * const longrun = await LongrunClient.connect();
 * await longrun.start(codebaseReviewSpec({ taskId: 'review-1', root: 'src' }));
 * const { percent, step } = await longrun.progress('review-1');
 * ```
 */
export {
  InvalidTransitionError,
  ListFilterSchema,
  LongrunClient,
  MAX_SPEC_BYTES,
  TaskHandle,
  TaskRequestRejectedError,
  UnknownCheckpointError,
  UnknownTaskError,
} from './client';
export type {
  CheckedAgainst,
  ConnectOptions,
  ListFilter,
  RollbackResult,
  StartOptions,
  StartedTask,
  TaskResult,
  TaskStatus,
  TaskSummary,
  WatchOptions,
} from './client';
export { CONTROL_KINDS } from './shared/control';
export { formatDuration, parseDuration } from './shared/duration';
export type {
  CancelRequest,
  ControlKind,
  ExtendRequest,
  PauseRequest,
  ResumeRequest,
} from './shared/control';
export type { ActivityEntry, ActivityKind } from './shared/activity-log';
export type { EtaConfidence, Velocity } from './shared/velocity';
export { verifyWebhook } from './runtime/webhook-signing';
export type {
  VerifyWebhookOptions,
  WebhookRequestHeaders,
  WebhookVerification,
} from './runtime/webhook-signing';
export { WEBHOOK_EVENT_TYPES, WEBHOOK_HEADERS, WebhookEventSchema } from './shared/webhooks';
export type { WebhookEvent, WebhookEventType } from './shared/webhooks';
// Writing actions: defineAction and the failure classes load no worker code, so an action module can
// import them from 'longrun' in any process.
export { defineAction, actionRegistry } from './activities/action';
export type { AgentAction, ActionRegistry } from './activities/action';
export type { StepContext, ItemCursor } from './activities/step-context';
export { TransientError, ResourceError, CriticalError, PermanentError } from './activities/errors';
export type { FailureOptions } from './activities/errors';
export type { ArtifactRef, StepOutput } from './shared/step-io';
export type { Artifacts } from './runtime/artifact-store';
export { TaskSpecSchema } from './shared/spec';
export type { TaskSpec, TaskSpecInput, PhaseSpec, StepSpec } from './shared/spec';
export { durabilityPolicy, DURABILITY_LEVELS } from './shared/durability';
export type { DurabilityLevel, DurabilityPolicy, PolicyOptions, RetryPolicySpec } from './shared/durability';
export { codebaseReviewSpec, datasetSpec } from './shared/plans';
export type { CodebaseReviewOptions, DatasetOptions } from './shared/plans';
export type { CheckpointRecord, CheckpointType } from './shared/checkpoints';
export type { LifecycleState, Transition } from './shared/lifecycle';
export { WAIT_ACTION } from './shared/spec';
export type { ItemProgress, TaskProgress } from './shared/progress';
export { ValidationError } from './shared/validation';
export type { ValidationIssue } from './shared/validation';
export { checkSpec } from './shared/spec-check';
export type { ActionCatalog, PublishedAction } from './shared/action-catalog';
export type { LongTaskInput, LongTaskResult } from './workflows/long-task';
export type { PartialResult } from './workflows/messages';
