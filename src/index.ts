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
// The client and every type its signatures use.
export * from './client';
export { CONTROL_KINDS } from './shared/control';
export { formatDuration, parseDuration } from './shared/duration';
export { verifyWebhook } from './runtime/webhook-signing';
export type {
  VerifyWebhookOptions,
  WebhookRequestHeaders,
  WebhookVerification,
} from './runtime/webhook-signing';
export { WEBHOOK_EVENT_TYPES, WEBHOOK_HEADERS, webhookEventSchema } from './shared/webhooks';
export type { WebhookEvent, WebhookEventType } from './shared/webhooks';
// Writing actions: defineAction and the failure classes load no worker code, so an action module can
// import them from 'longrun' in any process.
export { defineAction, actionRegistry } from './activities/action';
export type { AgentAction, ActionRegistry } from './activities/action';
export type { StepContext, ItemCursor } from './activities/step-context';
export type { ChildLimits, ExecOptions, ExecResult } from './activities/child-process';
export type { ModelAnswer, ModelContext, ModelRequest } from './activities/model/model-context';
export { agentAction, defineTool, builtinTools } from './activities/agent';
export type { AgentActionOptions, AgentCursor, AgentTool, ToolEnv } from './activities/agent';
export type {
  ChatCompletion,
  ChatMessage,
  TokenUsage,
  ToolCall,
  ToolDefinition,
} from './activities/llm/llm-client';
export { TransientError, ResourceError, CriticalError, PermanentError } from './activities/errors';
export type { FailureOptions } from './activities/errors';
export type { Artifacts } from './runtime/artifact-store';
export { taskSpecSchema, WAIT_ACTION } from './shared/spec';
export { durabilityPolicy, DURABILITY_LEVELS } from './shared/durability';
export type { DurabilityLevel, DurabilityPolicy, PolicyOptions, RetryPolicySpec } from './shared/durability';
export { codebaseReviewSpec, datasetSpec } from './shared/plans';
export type { CodebaseReviewOptions, DatasetOptions } from './shared/plans';
export { ValidationError } from './shared/validation';
export type { ValidationIssue } from './shared/validation';
export { checkSpec } from './shared/spec-check';
