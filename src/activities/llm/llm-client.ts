/**
 * An OpenAI-compatible chat-completions client over HTTP (`POST {baseUrl}/chat/completions`), every
 * call through the worker's circuit breaker `llm:<host>`. Failures come out typed for longrun's
 * recovery: rate limits and outages as `TransientError` (with Retry-After), refusals as
 * `PermanentError` carrying the service's own message.
 *
 * @example
 * ```ts
 * const llm = new LlmClient({ baseUrl: 'https://api.openai.com/v1', apiKey, model: 'gpt-4o-mini', timeoutMs: 60_000 });
 * const { content } = await llm.chat({ messages: [{ role: 'user', content: 'Hello' }], signal: ctx.signal });
 * ```
 */
import { z } from 'zod';
import { BreakerRegistry, processBreakers } from '../circuit-breakers';
import { retryAfterMs } from '../../shared/failures';
import { PermanentError, TransientError } from '../errors';
import type { LlmSettings } from '../../runtime/config';

/** Where and how to reach the LLM (env `LONGRUN_LLM_*`). */
export type { LlmSettings };

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface ChatRequest {
  messages: ChatMessage[];
  /** `max_tokens` of the reply. */
  maxTokens?: number;
  temperature?: number;
  /** The step's signal (`ctx.signal`): cancelling the step aborts the call. */
  signal?: AbortSignal;
}

export interface ChatCompletion {
  content: string;
  /** The model that answered, as the service names it. */
  model: string;
  finishReason: string | null;
}

const CompletionSchema = z.object({
  model: z.string().optional(),
  choices: z
    .array(
      z.object({
        message: z.object({ content: z.string().nullable() }),
        finish_reason: z.string().nullable().optional(),
      })
    )
    .min(1, 'must hold at least one choice'),
});

const ErrorBodySchema = z.object({ error: z.object({ message: z.string() }) });

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
  /** The circuit every call goes through: `llm:<host[:port]>`. */
  readonly breakerName: string;
  private readonly endpoint: string;
  private readonly host: string;
  private readonly breakers: BreakerRegistry;
  private readonly now: () => number;

  constructor(
    readonly settings: LlmSettings,
    opts: { breakers?: BreakerRegistry; now?: () => number } = {}
  ) {
    const url = new URL(settings.baseUrl);
    this.host = url.host;
    this.endpoint = `${settings.baseUrl.replace(/\/+$/, '')}/chat/completions`;
    this.breakerName = `llm:${url.host}`;
    this.breakers = opts.breakers ?? processBreakers;
    this.now = opts.now ?? Date.now;
  }

  /**
   * One chat completion. Throws `CircuitOpenError` (transient, with the time left) without calling
   * while the service's circuit is open; `TransientError` for 429, 5xx, timeouts, network errors and
   * malformed answers; `PermanentError` for other 4xx; the abort reason when `signal` aborted.
   */
  async chat(request: ChatRequest): Promise<ChatCompletion> {
    return this.breakers
      .breakerFor(this.breakerName)
      .run(() => this.call(request), request.signal ? { signal: request.signal } : {});
  }

  private async call(request: ChatRequest): Promise<ChatCompletion> {
    const timeout = AbortSignal.timeout(this.settings.timeoutMs);
    const signal = request.signal ? AbortSignal.any([request.signal, timeout]) : timeout;
    const where = `LLM ${this.host}`;
    let status: number;
    let body: string;
    let retryAfter: string | null;
    try {
      const res = await fetch(this.endpoint, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(this.settings.apiKey ? { authorization: `Bearer ${this.settings.apiKey}` } : {}),
        },
        body: JSON.stringify({
          model: this.settings.model,
          messages: request.messages,
          ...(request.maxTokens === undefined ? {} : { max_tokens: request.maxTokens }),
          ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
        }),
        signal,
      });
      status = res.status;
      retryAfter = res.headers.get('retry-after');
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

    if (status < 200 || status >= 300) {
      const message = `${where} answered ${status}: ${serviceMessage(body)}`;
      if (!isTransientStatus(status)) throw new PermanentError(message);
      const wait = status === 429 || status === 503 ? retryAfterMs(retryAfter, this.now()) : null;
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
    const choice = parsed.data.choices[0] as {
      message: { content: string | null };
      finish_reason?: string | null;
    };
    return {
      content: choice.message.content ?? '',
      model: parsed.data.model ?? this.settings.model,
      finishReason: choice.finish_reason ?? null,
    };
  }
}
