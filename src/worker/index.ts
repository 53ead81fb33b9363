/**
 * `longrun/worker`: running a longrun worker in your own process, with your own actions. Needs the
 * optional peer dependency `@temporalio/worker` (`npm install @temporalio/worker`); a service that only
 * starts and steers tasks imports `longrun` and does not install it.
 *
 * @example
 * ```ts
 * import { createLongrunWorker, loadConfig } from 'longrun/worker';
 * import { myActions } from './actions';
 *
 * const config = loadConfig();
 * const { worker } = await createLongrunWorker({ config, address: config.address, actions: myActions });
 * await worker.run();
 * ```
 */
export { createLongrunWorker, builtinActions, WorkerStartError } from './factory';
export type { LongrunWorker, LongrunWorkerOptions } from './factory';
export type { WorkerStatusSource } from './health';
export { runWorker } from './main';
export { healthReport, startHealthServer } from './health';
export type { HealthReport, HealthServer, HealthStatus } from './health';
export { loadConfig, loadClientConfig } from '../runtime/config';
export type { ClientConfig, LlmSettings, LongrunConfig, TlsSettings } from '../runtime/config';
export { ArtifactStore, ArtifactCorruptError } from '../runtime/artifact-store';
export type { Artifacts, ArtifactStoreOptions } from '../runtime/artifact-store';
export type { ArtifactRef } from '../shared/step-io';
export {
  BreakerRegistry,
  CircuitOpenError,
  breakerFor,
  breakerStates,
  configureBreakers,
} from '../activities/circuit-breakers';
export { CircuitBreaker } from '../activities/circuit-breakers';
export type {
  BreakerRegistryOptions,
  BreakerStatus,
  BreakerTransition,
  RunOptions as BreakerRunOptions,
} from '../activities/circuit-breakers';
export type {
  BreakerSettings,
  BreakerSnapshot,
  BreakerStateName,
  CallOutcome,
} from '../shared/circuit-breaker';
export { LlmClient, RateLimitError, llmActions, llmBreakerName } from '../activities/llm';
export type {
  ChatCompletion,
  ChatMessage,
  ChatRequest,
  TokenUsage,
  ToolCall,
  ToolDefinition,
} from '../activities/llm';
export type { ModelAnswer, ModelContext, ModelRequest } from '../activities/model/model-context';
export type { PriceTable, ModelPrice } from '../shared/model-usage';
export type { QuotaReset } from '../shared/rate-limits';
export { codebaseReviewActions } from '../activities/agents/codebase-review';
export { datasetActions } from '../activities/agents/dataset';
// What action modules use, also exported by 'longrun' (which loads no worker code).
export {
  defineAction,
  actionRegistry,
  TransientError,
  ResourceError,
  CriticalError,
  PermanentError,
} from '../activities';
export type { AgentAction, ActionRegistry, StepContext, ItemCursor } from '../activities';
export type { ChildLimits, ExecOptions, ExecResult } from '../activities/child-process';
export type { FailureOptions } from '../activities/errors';
export { durabilityPolicy, DURABILITY_LEVELS } from '../shared/durability';
export type { DurabilityLevel, DurabilityPolicy, PolicyOptions, RetryPolicySpec } from '../shared/durability';
export { ResourceMonitor } from '../runtime/resource-monitor';
export type { ResourceMonitorOptions, ResourceReport } from '../runtime/resource-monitor';
export type { ResourceSettings } from '../runtime/resource-config';
export type {
  HealthLevel,
  ModeChange,
  ResourceSample,
  Thresholds,
  Threshold,
  Trends,
  TrendSettings,
  WorkerMode,
} from '../shared/resources';
export { ModeSlotSupplier } from './slot-supplier';
export type { StepResourceGate, ResourceStop } from '../activities/resource-gate';
export type { WorkerResources } from './resources';
export { ProgressReporter } from './progress-reporter';
export type { ProgressReporterOptions } from './progress-reporter';
export { progressBoardPlugin } from './board-worker';
export type { BoardWorkerOptions } from './board-worker';
export type { BoardEntry, LiveProgress } from '../shared/progress-board';
export { workerWorkflowCode } from './workflow-bundle';
export type { WorkflowCode } from './workflow-bundle';
