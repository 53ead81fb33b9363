/**
 * The LLM adapter (OpenAI-compatible chat completions behind a circuit breaker) and its demo action.
 *
 * @example
 * ```ts
 * const actions = [...builtinActions, ...llmActions({ baseUrl, apiKey, model, timeoutMs: 60_000 })];
 * ```
 */
import { LlmClient, type LlmSettings } from './llm-client';
import { summarizeAction } from './summarize';
import { agentRunAction } from '../agent/agent-loop';

export { LlmClient, RateLimitError, llmBreakerName } from './llm-client';
export type {
  ChatCompletion,
  ChatMessage,
  ChatRequest,
  LlmSettings,
  TokenUsage,
  ToolCall,
  ToolDefinition,
} from './llm-client';
export { summarizeAction } from './summarize';
export type { SummaryCursor, SummaryEntry } from './summarize';

/**
 * The actions that need a model: `llm.summarize` on one client (its calls through the process-wide
 * circuit breakers) and the agent loop `agent.run` (its calls through `ctx.model`).
 */
export function llmActions(settings: LlmSettings, client = new LlmClient(settings)) {
  return [summarizeAction(client), agentRunAction];
}
