/**
 * Webhook payload schemas, the retry schedule, signing and verification, and the webhook settings.
 */
import { loadConfig } from '../../src/runtime/config';
import { signWebhook, verifyWebhook } from '../../src/runtime/webhook-signing';
import {
  WEBHOOK_HEADERS,
  webhookDeliverySchema,
  webhookEventSchema,
  webhookTargetSchema,
  wantsEvent,
  webhookRetryPolicy,
  type WebhookEvent,
} from '../../src/shared/webhooks';

const event: WebhookEvent = {
  id: 'review-1:task.completed',
  type: 'task.completed',
  taskId: 'review-1',
  agent: 'codebase-review',
  at: '2025-01-02T03:04:05.678Z',
  data: { steps: 12 },
};

describe('webhook schemas', () => {
  it('accepts a well-formed event and delivery', () => {
    expect(webhookEventSchema().parse(event)).toEqual(event);
    expect(webhookDeliverySchema().parse({ url: 'https://hooks.example.com/longrun', event })).toEqual({
      url: 'https://hooks.example.com/longrun',
      event,
    });
  });

  it('refuses unknown event types, bad dates and missing fields', () => {
    expect(webhookEventSchema().safeParse({ ...event, type: 'task.exploded' }).success).toBe(false);
    expect(webhookEventSchema().safeParse({ ...event, at: 'yesterday' }).success).toBe(false);
    expect(webhookEventSchema().safeParse({ ...event, id: '' }).success).toBe(false);
    const withoutTask: Partial<WebhookEvent> = { ...event };
    delete withoutTask.taskId;
    expect(webhookEventSchema().safeParse(withoutTask).success).toBe(false);
  });

  it('takes only http and https URLs as targets', () => {
    expect(webhookTargetSchema().safeParse({ url: 'http://127.0.0.1:8080/hook' }).success).toBe(true);
    for (const url of ['ftp://example.com/hook', 'file:///etc/passwd', 'example.com/hook', 'not a url']) {
      const result = webhookTargetSchema().safeParse({ url });
      expect(result.success).toBe(false);
      expect(result.error?.issues[0]?.message).toBe('must be an http(s) URL');
    }
  });

  it('sends a target every event type unless it lists some', () => {
    const all = webhookTargetSchema().parse({ url: 'https://example.com/a' });
    const some = webhookTargetSchema().parse({ url: 'https://example.com/b', events: ['task.failed'] });
    expect(wantsEvent(all, 'task.idle')).toBe(true);
    expect(wantsEvent(some, 'task.failed')).toBe(true);
    expect(wantsEvent(some, 'task.completed')).toBe(false);
    expect(
      webhookTargetSchema().safeParse({ url: 'https://example.com/c', events: ['task.done'] }).success
    ).toBe(false);
  });

  it('retries for about 8.5 minutes: 1 s doubling, capped at 5 min, 10 attempts', () => {
    expect(webhookRetryPolicy()).toEqual({
      initialInterval: '1 second',
      backoffCoefficient: 2,
      maximumInterval: '5 minutes',
      maximumAttempts: 10,
    });
    // Temporal's schedule for that policy: the wait before attempt n+1 is min(1 s x 2^(n-1), 5 min).
    const waits = Array.from({ length: 9 }, (_, i) => Math.min(300_000, 1_000 * 2 ** i));
    expect(waits).toEqual([1, 2, 4, 8, 16, 32, 64, 128, 256].map((s) => s * 1_000));
  });
});

describe('webhook signatures', () => {
  const secret = 'whsec_test';
  const body = JSON.stringify(event);
  const ts = 1_700_000_000_000;
  const signed = (overrides: Record<string, string | undefined> = {}) => ({
    [WEBHOOK_HEADERS.timestamp]: String(ts),
    [WEBHOOK_HEADERS.signature]: signWebhook(secret, ts, body),
    ...overrides,
  });

  it('signs HMAC-SHA256 over "<timestamp>.<body>" as sha256=<hex>', () => {
    // Independent value: printf '1700000000000.{"hello":"world"}' | openssl dgst -sha256 -hmac whsec_test
    expect(signWebhook(secret, ts, '{"hello":"world"}')).toBe(
      'sha256=195306fc6e208b472595aee6784b376a8e70d774a8dc37119a209093c6923ee5'
    );
    expect(signWebhook(secret, ts, Buffer.from('{"hello":"world"}'))).toBe(
      signWebhook(secret, ts, '{"hello":"world"}')
    );
  });

  it('accepts a good signature, from Node headers (any case) or a fetch Headers object', () => {
    expect(verifyWebhook(secret, signed(), body, { now: ts + 1_000 })).toEqual({ ok: true });
    const lower = Object.fromEntries(Object.entries(signed()).map(([k, v]) => [k.toLowerCase(), v]));
    expect(verifyWebhook(secret, lower, Buffer.from(body), { now: ts })).toEqual({ ok: true });
    expect(verifyWebhook(secret, new Headers(signed() as Record<string, string>), body, { now: ts })).toEqual(
      {
        ok: true,
      }
    );
  });

  it('refuses a tampered body', () => {
    const tampered = body.replace('task.completed', 'task.failed');
    expect(verifyWebhook(secret, signed(), tampered, { now: ts })).toEqual({
      ok: false,
      reason: 'signature-mismatch',
    });
  });

  it('refuses a signature made with another secret', () => {
    expect(verifyWebhook('another-secret', signed(), body, { now: ts })).toEqual({
      ok: false,
      reason: 'signature-mismatch',
    });
  });

  it('refuses a stale or future timestamp outside the tolerance (5 min by default)', () => {
    expect(verifyWebhook(secret, signed(), body, { now: ts + 5 * 60_000 })).toEqual({ ok: true });
    expect(verifyWebhook(secret, signed(), body, { now: ts + 5 * 60_000 + 1 })).toEqual({
      ok: false,
      reason: 'stale-timestamp',
    });
    expect(verifyWebhook(secret, signed(), body, { now: ts - 6 * 60_000 })).toMatchObject({ ok: false });
    expect(verifyWebhook(secret, signed(), body, { now: ts + 10_000, toleranceMs: 5_000 })).toMatchObject({
      ok: false,
      reason: 'stale-timestamp',
    });
  });

  it('refuses a replayed signature under a new timestamp', () => {
    const moved = signed({ [WEBHOOK_HEADERS.timestamp]: String(ts + 1_000) });
    expect(verifyWebhook(secret, moved, body, { now: ts })).toMatchObject({ reason: 'signature-mismatch' });
  });

  it('names what is missing or malformed', () => {
    const check = (headers: Record<string, string | undefined>) =>
      verifyWebhook(secret, headers, body, { now: ts });
    expect(check(signed({ [WEBHOOK_HEADERS.signature]: undefined }))).toEqual({
      ok: false,
      reason: 'missing-signature',
    });
    expect(check(signed({ [WEBHOOK_HEADERS.timestamp]: undefined }))).toEqual({
      ok: false,
      reason: 'missing-timestamp',
    });
    expect(check(signed({ [WEBHOOK_HEADERS.timestamp]: 'soon' }))).toMatchObject({
      reason: 'malformed-timestamp',
    });
    expect(check(signed({ [WEBHOOK_HEADERS.signature]: 'sha256=abc' }))).toMatchObject({
      reason: 'malformed-signature',
    });
    expect(check(signed({ [WEBHOOK_HEADERS.signature]: 'md5=' + 'a'.repeat(64) }))).toMatchObject({
      reason: 'malformed-signature',
    });
  });
});

describe('webhook settings', () => {
  it('has no webhook URLs and no secret by default', () => {
    const config = loadConfig({}, '/w');
    expect(config.webhookUrls).toEqual([]);
    expect(config.webhookSecret).toBeUndefined();
  });

  it('reads a comma-separated URL list and the secret', () => {
    const config = loadConfig(
      {
        LONGRUN_WEBHOOK_URLS: ' https://hooks.example.com/a , http://127.0.0.1:9000/b,',
        LONGRUN_WEBHOOK_SECRET: 's3cret',
      },
      '/w'
    );
    expect(config.webhookUrls).toEqual(['https://hooks.example.com/a', 'http://127.0.0.1:9000/b']);
    expect(config.webhookSecret).toBe('s3cret');
  });

  it('names the variable and the entry for a URL that is not http(s)', () => {
    expect(() =>
      loadConfig({ LONGRUN_WEBHOOK_URLS: 'https://ok.example.com,ftp://files.example.com' }, '/w')
    ).toThrow(
      'invalid environment: LONGRUN_WEBHOOK_URLS[1]="https://ok.example.com,ftp://files.example.com": must be an http(s) URL'
    );
  });
});
