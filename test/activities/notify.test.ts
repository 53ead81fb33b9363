/**
 * The sendWebhook activity against a real local HTTP receiver: what it sends, and what it throws
 * so Temporal retries (or not) as each answer deserves.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ActivityCancellationDetails, ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { actionRegistry, createActivities } from '../../src/activities';
import { ArtifactStore } from '../../src/runtime/artifact-store';
import { createNotifyActivities, type NotifyDeps } from '../../src/activities/notify';
import { verifyWebhook } from '../../src/runtime/webhook-signing';
import type { WebhookDelivery, WebhookEvent } from '../../src/shared/webhooks';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver';

const SECRET = 'whsec_notify_test';

let receiver: WebhookReceiver;
beforeEach(async () => {
  receiver = await startWebhookReceiver();
});
afterEach(() => receiver.close());

const event = (overrides: Partial<WebhookEvent> = {}): WebhookEvent => ({
  id: 'review-1:task.completed:1',
  type: 'task.completed',
  taskId: 'review-1',
  agent: 'codebase-review',
  at: new Date().toISOString(),
  data: { findings: 3 },
  ...overrides,
});

function send(delivery: WebhookDelivery, opts: { attempt?: number; deps?: NotifyDeps } = {}) {
  const notify = createNotifyActivities(opts.deps ?? { secret: SECRET });
  return new MockActivityEnvironment({ attempt: opts.attempt ?? 1 }).run(() => notify.sendWebhook(delivery));
}

async function failureOf(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const err: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e
  );
  if (!(err instanceof ApplicationFailure))
    throw new Error(`expected an ApplicationFailure, got ${String(err)}`);
  return err;
}

describe('sendWebhook', () => {
  it('POSTs the event as JSON with longrun headers and a signature the receiver can verify', async () => {
    const sent = event();
    const result = await send({ url: receiver.url, event: sent });
    expect(result).toEqual({ status: 200, attempt: 1, ms: expect.any(Number) });

    const [got] = await receiver.waitFor(1);
    expect(got?.method).toBe('POST');
    expect(got?.path).toBe('/webhook');
    expect(JSON.parse(got?.body ?? '')).toEqual(sent);
    expect(got?.headers).toMatchObject({
      'content-type': 'application/json',
      'user-agent': 'longrun',
      'x-longrun-event': 'task.completed',
      'x-longrun-delivery': sent.id,
      'x-longrun-timestamp': expect.stringMatching(/^\d{13}$/),
    });
    expect(verifyWebhook(SECRET, got?.headers ?? {}, got?.body ?? '')).toEqual({ ok: true });
    expect(verifyWebhook('not-the-secret', got?.headers ?? {}, got?.body ?? '')).toMatchObject({ ok: false });
  });

  it('sends no signature header when no secret is configured', async () => {
    await send({ url: receiver.url, event: event() }, { deps: {} });
    const [got] = await receiver.waitFor(1);
    expect(got?.headers['x-longrun-signature']).toBeUndefined();
    expect(got?.headers['x-longrun-delivery']).toBe('review-1:task.completed:1');
  });

  it('keeps the delivery id across retries and reports the attempt that succeeded', async () => {
    receiver.respondWith([500, { status: 429, headers: { 'Retry-After': '2' } }, 200]);
    const delivery = { url: receiver.url, event: event({ type: 'task.failed', id: 'review-1:task.failed' }) };
    expect(await failureOf(send(delivery, { attempt: 1 }))).toMatchObject({ nonRetryable: false });
    expect(await failureOf(send(delivery, { attempt: 2 }))).toMatchObject({ nextRetryDelay: 2_000 });
    expect(await send(delivery, { attempt: 3 })).toMatchObject({ status: 200, attempt: 3 });

    const got = await receiver.waitFor(3);
    expect(got.map((r) => r.headers['x-longrun-delivery'])).toEqual(Array(3).fill('review-1:task.failed'));
    for (const r of got) expect(verifyWebhook(SECRET, r.headers, r.body)).toEqual({ ok: true });
  });

  it('retries a 5xx with the policy backoff', async () => {
    receiver.respondWith([{ status: 500, body: 'database is down' }]);
    const f = await failureOf(send({ url: receiver.url, event: event() }));
    expect(f.type).toBe('LongrunTransient');
    expect(f.nonRetryable).toBe(false);
    expect(f.nextRetryDelay).toBeUndefined();
    expect(JSON.stringify([f.message, f.details, f.cause?.message])).not.toContain(SECRET);
    expect(f.message).toBe(
      `webhook task.completed to ${receiver.url} answered 500 Internal Server Error: database is down`
    );
  });

  it('retries a 429 or 503 after the Retry-After the receiver asked for', async () => {
    receiver.respondWith([
      { status: 429, headers: { 'Retry-After': '2' } },
      { status: 503, headers: { 'Retry-After': new Date(Date.now() + 30_000).toUTCString() } },
      408,
    ]);
    const rateLimited = await failureOf(send({ url: receiver.url, event: event() }));
    expect(rateLimited).toMatchObject({
      type: 'LongrunTransient',
      nonRetryable: false,
      nextRetryDelay: 2_000,
    });
    expect(rateLimited.details?.[0]).toMatchObject({ status: 429, retryAfterMs: 2_000, attempt: 1 });

    const unavailable = await failureOf(send({ url: receiver.url, event: event() }));
    expect(unavailable.nonRetryable).toBe(false);
    // An HTTP date has one-second precision.
    expect(unavailable.nextRetryDelay).toBeGreaterThan(28_000);
    expect(unavailable.nextRetryDelay).toBeLessThanOrEqual(30_000);

    const requestTimeout = await failureOf(send({ url: receiver.url, event: event() }));
    expect(requestTimeout).toMatchObject({ type: 'LongrunTransient', nonRetryable: false });
  });

  it('stops at once on a refusal (404), naming the URL and the status', async () => {
    receiver.respondWith([404]);
    const f = await failureOf(send({ url: `${receiver.url}?token=abc`, event: event() }));
    expect(f.type).toBe('LongrunPermanent');
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toBe(`webhook task.completed to ${receiver.url}?… answered 404 Not Found; not retried`);
    expect(f.message).not.toContain('abc');
  });

  it('does not follow a redirect: the target must be configured with its final URL', async () => {
    receiver.respondWith([{ status: 308, headers: { Location: '/elsewhere' } }]);
    const f = await failureOf(send({ url: receiver.url, event: event() }));
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toContain('answered 308');
    expect(f.message).toContain(`redirects to ${receiver.url.replace('/webhook', '/elsewhere')}`);
    expect(receiver.requests).toHaveLength(1);
  });

  it('times out a receiver that never answers, as a retryable failure', async () => {
    receiver.respondWith(['hang']);
    const started = Date.now();
    const f = await failureOf(send({ url: receiver.url, event: event() }, { deps: { timeoutMs: 300 } }));
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(f).toMatchObject({ type: 'LongrunTransient', nonRetryable: false });
    expect(f.message).toBe(`webhook task.completed to ${receiver.url} timed out after 300 ms`);
  });

  it('gives up a hanging request at once when the activity is cancelled', async () => {
    receiver.respondWith(['hang']);
    const env = new MockActivityEnvironment();
    const notify = createNotifyActivities({ timeoutMs: 30_000 });
    const sending = env.run(() => notify.sendWebhook({ url: receiver.url, event: event() }));
    await receiver.waitFor(1);
    env.cancel();
    await expect(sending).rejects.toBeInstanceOf(CancelledFailure);
  });

  it('leaves the event to a retry on another worker when its worker shuts down', async () => {
    receiver.respondWith(['hang']);
    const env = new MockActivityEnvironment();
    const notify = createNotifyActivities({ timeoutMs: 30_000 });
    const sending = env.run(() => notify.sendWebhook({ url: receiver.url, event: event() }));
    await receiver.waitFor(1);
    env.cancel('WORKER_SHUTDOWN', new ActivityCancellationDetails({ workerShutdown: true }));
    const f = await failureOf(sending);
    expect(f).toMatchObject({ type: 'LongrunTransient', nonRetryable: false });
    expect(f.message).toContain('the worker is shutting down');
  });

  it('retries when the receiver cannot be reached', async () => {
    const url = receiver.url;
    await receiver.close();
    const f = await failureOf(send({ url, event: event() }));
    expect(f).toMatchObject({ type: 'LongrunTransient', nonRetryable: false });
    expect(f.message).toContain('ECONNREFUSED');
    receiver = await startWebhookReceiver(); // for afterEach
  });

  it('refuses an invalid delivery without sending anything', async () => {
    const f = await failureOf(send({ url: 'ftp://example.com/hook', event: event({ at: 'now' }) }));
    expect(f).toMatchObject({ type: 'LongrunInvalidInput', nonRetryable: true });
    expect(f.message).toBe(
      'webhook: delivery.url: must be an http(s) URL; delivery.event.at: must be an ISO 8601 date-time'
    );
    expect(receiver.requests).toHaveLength(0);
  });

  it('is one of the worker activities, signed with the worker secret', async () => {
    const activities = createActivities({
      actions: actionRegistry([]),
      artifacts: new ArtifactStore(join(tmpdir(), 'longrun-notify-unused')),
      workRoot: join(tmpdir(), 'longrun-notify-unused'),
      webhookSecret: SECRET,
    });
    await new MockActivityEnvironment().run(() =>
      activities.sendWebhook({ url: receiver.url, event: event() })
    );
    const [got] = await receiver.waitFor(1);
    expect(verifyWebhook(SECRET, got?.headers ?? {}, got?.body ?? '')).toEqual({ ok: true });
  });
});
