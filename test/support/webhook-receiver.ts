/**
 * A real HTTP server on 127.0.0.1 that records the webhooks it receives and answers as told.
 *
 * @example
 * ```ts
 * const receiver = await startWebhookReceiver();
 * receiver.respondWith([500, { status: 429, headers: { 'Retry-After': '2' } }, 200]);
 * // ... send to receiver.url ...
 * const [first] = await receiver.waitFor(1);
 * await receiver.close();
 * ```
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedWebhook {
  method: string;
  /** Path and query string. */
  path: string;
  /** Lower-case names, as Node parses them. */
  headers: IncomingHttpHeaders;
  /** The raw body, as sent (verify signatures over this). */
  body: string;
  /** Epoch ms when the body was complete. */
  at: number;
}

/** A status, a full answer, or `'hang'`: never answer (the sender's timeout must fire). */
export type WebhookReply =
  number | { status: number; headers?: Record<string, string>; body?: string } | 'hang';

export interface WebhookReceiver {
  /** Where to send: `http://127.0.0.1:<port>/webhook`. */
  readonly url: string;
  /** Every request so far, oldest first. */
  readonly requests: ReceivedWebhook[];
  /** Answers the next requests with these replies in order, then with `then` (default 200). */
  respondWith(replies: WebhookReply[], then?: WebhookReply): void;
  /** Resolves once `count` requests have arrived; rejects after `timeoutMs` (default 10000). */
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedWebhook[]>;
  /** Forgets the recorded requests (the replies queue stays). */
  clear(): void;
  /** Stops the server and drops every connection, hanging ones included; safe to call twice. */
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const requests: ReceivedWebhook[] = [];
  let queue: WebhookReply[] = [];
  let fallback: WebhookReply = 200;
  let waiters: { count: number; resolve: () => void }[] = [];

  const answer = (res: ServerResponse, reply: WebhookReply): void => {
    if (reply === 'hang') return;
    const { status, headers = {}, body = '' } = typeof reply === 'number' ? { status: reply } : reply;
    res.writeHead(status, { 'Content-Type': 'text/plain', ...headers });
    res.end(body);
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      requests.push({
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
      });
      answer(res, queue.shift() ?? fallback);
      const ready = waiters.filter((w) => requests.length >= w.count);
      waiters = waiters.filter((w) => requests.length < w.count);
      for (const w of ready) w.resolve();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/webhook`,
    requests,
    respondWith(replies, then = 200) {
      queue = [...replies];
      fallback = then;
    },
    waitFor(count, timeoutMs = 10_000) {
      if (requests.length >= count) return Promise.resolve(requests.slice());
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters = waiters.filter((w) => w !== waiter);
          reject(
            new Error(`webhook receiver: ${requests.length} of ${count} requests after ${timeoutMs} ms`)
          );
        }, timeoutMs);
        const waiter = {
          count,
          resolve: () => {
            clearTimeout(timer);
            resolve(requests.slice());
          },
        };
        waiters.push(waiter);
      });
    },
    clear() {
      requests.length = 0;
    },
    close() {
      if (!server.listening) return Promise.resolve();
      server.closeAllConnections();
      return new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
  };
}
