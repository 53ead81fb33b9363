/**
 * An OpenAI-compatible chat-completions client over HTTP (`POST {baseUrl}/chat/completions`), every
 * call through the worker's circuit breaker of its credential pool (`llm:<host>#<key hash>`, shared
 * by every task behind the same base URL and key). Answers carry tool calls, token usage and latency.
 * Failures come out typed for longrun's recovery: a 429 as `RateLimitError` with the quota's reset
 * time (the pool's circuit is then held open until it), outages as `TransientError`, refusals as
 * `PermanentError` carrying the service's own message.
 *
 * @example
 * ```ts
 * const llm = new LlmClient({ baseUrl: 'https://api.openai.com/v1', apiKey, model: 'gpt-4o-mini', timeoutMs: 60_000 });
 * const { content } = await llm.chat({ messages: [{ role: 'user', content: 'Hello' }], signal: ctx.signal });
 * ```
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { BreakerRegistry, processBreakers } from '../circuit-breakers';
import { retryAfterMs } from '../../shared/failures';
import { quotaReset, type QuotaReset } from '../../shared/rate-limits';
import { PermanentError, TransientError } from '../errors';
import type { LlmSettings } from '../../runtime/config';

/** Where and how to reach the LLM (env `LONGRUN_LLM_*`). */
export type { LlmSettings };

/** A function call the model asked for (OpenAI wire format; `arguments` is a JSON string). */
export interface ToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

/** One message of a conversation, in the OpenAI chat-completions wire format. */
export type ChatMessage =
  | { role: 'system' | 'user'; content: string }
  | { role: 'assistant'; content: string | null; tool_calls?: ToolCall[] }
  | { role: 'tool'; tool_call_id: string; content: string };

/** A tool the model may call: its name, what it does, and its arguments as JSON Schema. */
export interface ToolDefinition {
  type: 'function';
  function: { name: string; description?: string; parameters: Record<string, unknown> };
}

export interface ChatRequest {
  messages: ChatMessage[];
  /** @default the configured model (`LONGRUN_LLM_MODEL`) */
  model?: string;
  tools?: ToolDefinition[];
  /** `max_tokens` of the reply. */
  maxTokens?: number;
  temperature?: number;
  /** The step's signal (`ctx.signal`): cancelling the step aborts the call. */
  signal?: AbortSignal;
}

/** Tokens as the provider reported them. */
export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
  /** Prompt tokens served from the provider's prompt cache. */
  cachedTokens: number;
}

export interface ChatCompletion {
  content: string;
  /** The calls the model asked for (empty when it answered in text). */
  toolCalls: ToolCall[];
  /** The model that answered, as the service names it. */
  model: string;
  finishReason: string | null;
  /** null when the provider did not report usage. */
  usage: TokenUsage | null;
  /** From sending the request to reading the whole answer, ms. */
  latencyMs: number;
}

/** A 429: the quota's reset, when the answer said (headers or body), else null. */
export class RateLimitError extends TransientError {
  override readonly name: string = 'RateLimitError';
  constructor(
    message: string,
    readonly reset: QuotaReset | null
  ) {
    super(message, reset === null ? {} : { retryAfterMs: reset.ms });
  }
}

const ToolCallSchema = z.object({
  id: z.string(),
  type: z.literal('function').default('function'),
  function: z.object({ name: z.string(), arguments: z.string() }),
});

const CompletionSchema = z.object({
  model: z.string().optional(),
  choices: z
    .array(
      z.object({
        message: z.object({
          content: z.string().nullable().optional(),
          tool_calls: z.array(ToolCallSchema).nullable().optional(),
        }),
        finish_reason: z.string().nullable().optional(),
      })
    )
    .min(1, 'must hold at least one choice'),
  usage: z
    .object({
      prompt_tokens: z.number().nonnegative(),
      completion_tokens: z.number().nonnegative(),
      prompt_tokens_details: z.object({ cached_tokens: z.number().nonnegative().optional() }).nullish(),
    })
    .nullish(),
});

const ErrorBodySchema = z.object({ error: z.object({ message: z.string() }) });

/** The circuit of a credential pool: base URL host plus a short hash of the key (never the key). */
export function llmBreakerName(baseUrl: string, apiKey: string | undefined): string {
  const host = new URL(baseUrl).host;
  if (!apiKey) return `llm:${host}`;
  return `llm:${host}#${createHash('sha256').update(apiKey).digest('hex').slice(0, 8)}`;
}

/** Statuses worth retrying: request timeout, too early, rate limit, and every 5xx. */
function isTransientStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}

/** The service's own error message: OpenAI's `{ error: { message } }`, else the start of the body. */
function serviceMessage(body: string): string {
  try {
    const parsed = ErrorBodySchema.safeParse(JSON.parse(body));
    if (parsed.success) return parsed.data.error.message;
  } catch {
    // not JSON: use the text
  }
  const text = body.trim().replace(/\s+/g, ' ');
  return text.length > 300 ? `${text.slice(0, 300)}…` : text || '(empty body)';
}

export class LlmClient {
  /** The circuit every call goes through: `llm:<host[:port]>#<key hash>`, one per credential pool. */
  readonly breakerName: string;
  private readonly endpoint: string;
  private readonly host: string;
  private readonly breakers: BreakerRegistry;
  private readonly now: () => number;

  constructor(
    readonly settings: LlmSettings,
    opts: { breakers?: BreakerRegistry; now?: () => number } = {}
  ) {
    this.host = new URL(settings.baseUrl).host;
    this.endpoint = `${settings.baseUrl.replace(/\/+$/, '')}/chat/completions`;
    this.breakerName = llmBreakerName(settings.baseUrl, settings.apiKey);
    this.breakers = opts.breakers ?? processBreakers;
    this.now = opts.now ?? Date.now;
  }

  /**
   * One chat completion. Throws `CircuitOpenError` (transient, with the time left) without calling
   * while the pool's circuit is open; `RateLimitError` for a 429 (holding the circuit open until a
   * known reset, so other tasks on the pool wait instead of probing); `TransientError` for 5xx,
   * timeouts, network errors and malformed answers; `PermanentError` for other 4xx; the abort reason
   * when `signal` aborted.
   */
  async chat(request: ChatRequest): Promise<ChatCompletion> {
    const breaker = this.breakers.breakerFor(this.breakerName);
    try {
      return await breaker.run(() => this.call(request), request.signal ? { signal: request.signal } : {});
    } catch (err) {
      if (err instanceof RateLimitError && err.reset) breaker.holdOpenFor(err.reset.ms);
      throw err;
    }
  }

  private async call(request: ChatRequest): Promise<ChatCompletion> {
    const timeout = AbortSignal.timeout(this.settings.timeoutMs);
    const signal = request.signal ? AbortSignal.any([request.signal, timeout]) : timeout;
    const where = `LLM ${this.host}`;
    const model = request.model ?? this.settings.model;
    const started = performance.now();
    let status: number;
    let body: string;
    let headers: Headers;
    try {
      const res = await fetch(this.endpoint, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(this.settings.apiKey ? { authorization: `Bearer ${this.settings.apiKey}` } : {}),
        },
        body: JSON.stringify({
          model,
          messages: request.messages,
          ...(request.tools?.length ? { tools: request.tools } : {}),
          ...(request.maxTokens === undefined ? {} : { max_tokens: request.maxTokens }),
          ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
        }),
        signal,
      });
      status = res.status;
      headers = res.headers;
      body = await res.text();
    } catch (err) {
      if (request.signal?.aborted) throw request.signal.reason ?? err;
      if (timeout.aborted) {
        throw new TransientError(`${where} did not answer within ${this.settings.timeoutMs} ms`, {
          cause: err,
        });
      }
      const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
      const detail =
        typeof cause?.code === 'string' ? cause.code : err instanceof Error ? err.message : String(err);
      throw new TransientError(`${where} unreachable (${detail})`, { cause: err });
    }
    const latencyMs = Math.round(performance.now() - started);

    if (status < 200 || status >= 300) {
      const message = `${where} answered ${status}: ${serviceMessage(body)}`;
      if (status === 429) {
        throw new RateLimitError(message, quotaReset(Object.fromEntries(headers), body, this.now()));
      }
      if (!isTransientStatus(status)) throw new PermanentError(message);
      const wait = status === 503 ? retryAfterMs(headers.get('retry-after'), this.now()) : null;
      throw new TransientError(message, wait === null ? {} : { retryAfterMs: wait });
    }
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      throw new TransientError(`${where} answered ${status} with malformed JSON: ${serviceMessage(body)}`);
    }
    const parsed = CompletionSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const path = issue?.path.join('.') || '(root)';
      throw new TransientError(
        `${where} answered ${status} with an unexpected shape: ${path}: ${issue?.message}`
      );
    }
    const { choices, usage } = parsed.data;
    const choice = choices[0] as (typeof choices)[number];
    return {
      content: choice.message.content ?? '',
      toolCalls: (choice.message.tool_calls ?? []).map((c) => ({
        id: c.id,
        type: 'function',
        function: { name: c.function.name, arguments: c.function.arguments },
      })),
      model: parsed.data.model ?? model,
      finishReason: choice.finish_reason ?? null,
      usage: usage
        ? {
            promptTokens: usage.prompt_tokens,
            completionTokens: usage.completion_tokens,
            cachedTokens: usage.prompt_tokens_details?.cached_tokens ?? 0,
          }
        : null,
      latencyMs,
    };
  }
}
