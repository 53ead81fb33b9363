/**
 * longrun: durable long-running agent tasks on Temporal.
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
export { loadConfig } from './runtime/config';
export type { LongrunConfig } from './runtime/config';
export { verifyWebhook } from './runtime/webhook-signing';
export type { VerifyWebhookOptions, WebhookVerification } from './runtime/webhook-signing';
export { WEBHOOK_EVENT_TYPES, WEBHOOK_HEADERS, WebhookEventSchema } from './shared/webhooks';
export type { WebhookEvent, WebhookEventType } from './shared/webhooks';
export { createLongrunWorker, builtinActions } from './worker/factory';
export {
  BreakerRegistry,
  CircuitOpenError,
  breakerFor,
  breakerStates,
  configureBreakers,
} from './activities/circuit-breakers';
export type { BreakerStatus } from './activities/circuit-breakers';
export type { BreakerSettings, BreakerStateName } from './shared/circuit-breaker';
export { LlmClient, llmActions } from './activities/llm';
export type { ChatCompletion, ChatMessage, ChatRequest, LlmSettings } from './activities/llm';
export { healthReport, startHealthServer } from './worker/health';
export type { HealthReport, HealthServer, HealthStatus } from './worker/health';
export { ArtifactStore, ArtifactCorruptError } from './runtime/artifact-store';
export type { Artifacts } from './runtime/artifact-store';
export {
  defineAction,
  actionRegistry,
  TransientError,
  ResourceError,
  CriticalError,
  PermanentError,
} from './activities';
export type { AgentAction, StepContext, ItemCursor } from './activities';
export { TaskSpecSchema } from './shared/spec';
export type { TaskSpec, TaskSpecInput, PhaseSpec, StepSpec } from './shared/spec';
export { durabilityPolicy, DURABILITY_LEVELS } from './shared/durability';
export type { DurabilityLevel, DurabilityPolicy } from './shared/durability';
export { codebaseReviewSpec, datasetSpec } from './shared/plans';
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
