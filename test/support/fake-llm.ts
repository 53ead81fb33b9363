/**
 * A real OpenAI-compatible chat-completions server on 127.0.0.1 for tests: it answers
 * `POST /v1/chat/completions` with `summary of "<last user message>"`, counts what it receives, and
 * can be told to fail (500), be unavailable (503), rate-limit (429 + Retry-After), refuse (401),
 * answer malformed JSON, hang, or recover.
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
}

export interface FakeLlm {
  /** The base URL to configure (`http://127.0.0.1:<port>/v1`). */
  baseUrl: string;
  /** `host:port`, as in the breaker name `llm:<host>`. */
  host: string;
  /** Every chat-completions request received, in order. */
  requests: FakeLlmRequest[];
  /** Answers every following request this way; `retryAfter` is the Retry-After header (429, 503). */
  setMode(mode: FakeLlmMode, opts?: { retryAfter?: string }): void;
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
    requests.push({
      at: Date.now(),
      authorization: req.headers.authorization ?? null,
      model: (body as { model?: unknown }).model,
      text,
      mode: now,
    });
    const wait: Record<string, string> = retryAfter === undefined ? {} : { 'retry-after': retryAfter };
    switch (now) {
      case 'ok':
        json(res, 200, {
          id: `chatcmpl-${requests.length}`,
          object: 'chat.completion',
          model: 'fake-model-001',
          choices: [
            { index: 0, message: { role: 'assistant', content: summaryOf(text) }, finish_reason: 'stop' },
          ],
          usage: { prompt_tokens: text.length, completion_tokens: 5, total_tokens: text.length + 5 },
        });
        return;
      case 'fail':
        json(res, 500, { error: { message: 'The server had an error while processing your request.' } });
        return;
      case 'unavailable':
        json(res, 503, { error: { message: 'The engine is currently overloaded.' } }, wait);
        return;
      case 'rate-limit':
        json(res, 429, { error: { message: 'Rate limit reached for requests.' } }, wait);
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
