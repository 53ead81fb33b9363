/**
 * A real OpenAI-compatible chat-completions server on 127.0.0.1 for tests: it answers
 * `POST /v1/chat/completions` with `summary of "<last user message>"` (or what a test's `respond`
 * script says: text or tool calls), reports usage, keeps a ledger of every call it billed, and can be
 * told to fail (500), be unavailable (503), rate-limit (429 with Retry-After or reset headers), refuse
 * (401), answer malformed JSON, answer slowly, hang, or recover.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** `echo-key` refuses with a 401 whose message repeats the Authorization header, as careless providers do. */
export type FakeLlmMode =
  'ok' | 'fail' | 'unavailable' | 'rate-limit' | 'unauthorized' | 'echo-key' | 'bad-json' | 'hang';

export interface FakeLlmRequest {
  at: number;
  authorization: string | null;
  model: unknown;
  /** Content of the last user message. */
  text: string;
  /** How the server answered. */
  mode: FakeLlmMode;
  /** The messages sent. */
  messages: unknown[];
  /** Names of the tools offered. */
  tools: string[];
  /** Bytes of the request body. */
  bytes: number;
}

/** What a scripted `ok` answer says: text, or tool calls (arguments as objects), and its usage. */
export interface FakeReply {
  content?: string;
  toolCalls?: { name: string; arguments: unknown }[];
  usage?: { prompt: number; completion: number; cached?: number } | null;
}

/** The request as a script sees it, with its position among the `ok` answers (0-based). */
export interface FakeCall {
  messages: { role: string; content?: unknown; tool_calls?: unknown; tool_call_id?: unknown }[];
  tools: string[];
  /** Content of the last user message. */
  text: string;
  index: number;
}

export interface FakeLlm {
  /** The base URL to configure (`http://127.0.0.1:<port>/v1`). */
  baseUrl: string;
  /** `host:port`, as in the breaker name `llm:<host>`. */
  host: string;
  /** Every chat-completions request received, in order. */
  requests: FakeLlmRequest[];
  /**
   * Answers every following request this way; `retryAfter` is the Retry-After header (429, 503),
   * `headers` more headers (say `x-ratelimit-reset-requests`), `body` the error body's message.
   */
  setMode(
    mode: FakeLlmMode,
    opts?: { retryAfter?: string; headers?: Record<string, string>; message?: string }
  ): void;
  /** The requests answered `ok`: the calls a provider would bill. */
  billed(): FakeLlmRequest[];
  /** Scripts every `ok` answer (text or tool calls); unset: `summary of "<text>"`. */
  respond(script: ((call: FakeCall) => FakeReply) | undefined): void;
  /** Waits this long before each answer. */
  setDelay(ms: number): void;
  /** Answers the next requests with these modes, one each, before falling back to the current mode. */
  queue(...modes: FakeLlmMode[]): void;
  /** The answer every `ok` request gets for `text`. */
  summaryOf(text: string): string;
  close(): Promise<void>;
}

const summaryOf = (text: string): string => `summary of "${text}"`;

function lastUserText(body: unknown): string {
  const messages = (body as { messages?: { role?: unknown; content?: unknown }[] } | null)?.messages ?? [];
  const user = [...messages].reverse().find((m) => m.role === 'user');
  return typeof user?.content === 'string' ? user.content : '';
}

function json(
  res: ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string> = {}
): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(value));
}

export async function startFakeLlm(): Promise<FakeLlm> {
  let mode: FakeLlmMode = 'ok';
  let retryAfter: string | undefined;
  let extraHeaders: Record<string, string> = {};
  let errorMessage: string | undefined;
  let script: ((call: FakeCall) => FakeReply) | undefined;
  let delayMs = 0;
  let okCount = 0;
  const pending: FakeLlmMode[] = [];
  const requests: FakeLlmRequest[] = [];

  const answer = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
      json(res, 404, { error: { message: `no route ${req.method} ${req.url}` } });
      return;
    }
    let body: unknown = null;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      json(res, 400, { error: { message: 'body is not JSON' } });
      return;
    }
    const now = pending.shift() ?? mode;
    const text = lastUserText(body);
    const sent = body as { model?: unknown; messages?: unknown; tools?: unknown };
    const messages = Array.isArray(sent.messages) ? (sent.messages as FakeCall['messages']) : [];
    const tools = Array.isArray(sent.tools)
      ? (sent.tools as { function?: { name?: unknown } }[]).map((t) => String(t.function?.name))
      : [];
    requests.push({
      at: Date.now(),
      authorization: req.headers.authorization ?? null,
      model: sent.model,
      text,
      mode: now,
      messages,
      tools,
      bytes: Buffer.concat(chunks).length,
    });
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    const wait: Record<string, string> = {
      ...(retryAfter === undefined ? {} : { 'retry-after': retryAfter }),
      ...extraHeaders,
    };
    switch (now) {
      case 'ok': {
        const reply = script?.({ messages, tools, text, index: okCount }) ?? {};
        okCount++;
        const toolCalls = (reply.toolCalls ?? []).map((c, i) => ({
          id: `call_${requests.length}_${i}`,
          type: 'function',
          function: { name: c.name, arguments: JSON.stringify(c.arguments) },
        }));
        const promptChars = JSON.stringify(messages).length;
        const usage =
          reply.usage === null
            ? undefined
            : (reply.usage ?? { prompt: Math.ceil(promptChars / 4), completion: 5, cached: 0 });
        json(res, 200, {
          id: `chatcmpl-${requests.length}`,
          object: 'chat.completion',
          model: 'fake-model-001',
          choices: [
            {
              index: 0,
              message: {
                role: 'assistant',
                content: toolCalls.length ? (reply.content ?? null) : (reply.content ?? summaryOf(text)),
                ...(toolCalls.length ? { tool_calls: toolCalls } : {}),
              },
              finish_reason: toolCalls.length ? 'tool_calls' : 'stop',
            },
          ],
          ...(usage
            ? {
                usage: {
                  prompt_tokens: usage.prompt,
                  completion_tokens: usage.completion,
                  total_tokens: usage.prompt + usage.completion,
                  prompt_tokens_details: { cached_tokens: usage.cached ?? 0 },
                },
              }
            : {}),
        });
        return;
      }
      case 'fail':
        json(res, 500, { error: { message: 'The server had an error while processing your request.' } });
        return;
      case 'unavailable':
        json(res, 503, { error: { message: 'The engine is currently overloaded.' } }, wait);
        return;
      case 'rate-limit':
        json(res, 429, { error: { message: errorMessage ?? 'Rate limit reached for requests.' } }, wait);
        return;
      case 'unauthorized':
        json(res, 401, { error: { message: 'Incorrect API key provided.' } });
        return;
      case 'echo-key':
        json(res, 401, { error: { message: `Incorrect API key provided: ${req.headers.authorization}` } });
        return;
      case 'bad-json':
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"choices": [ oops');
        return;
      case 'hang':
        return; // never answers; the socket is destroyed on close
    }
  };

  const server = createServer((req, res) => {
    answer(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    host: `127.0.0.1:${port}`,
    requests,
    setMode(next, opts = {}) {
      mode = next;
      retryAfter = opts.retryAfter;
      extraHeaders = opts.headers ?? {};
      errorMessage = opts.message;
    },
    billed: () => requests.filter((r) => r.mode === 'ok'),
    respond(next) {
      script = next;
    },
    setDelay(ms) {
      delayMs = ms;
    },
    queue(...modes) {
      pending.push(...modes);
    },
    summaryOf,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
