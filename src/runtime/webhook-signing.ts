/**
 * HMAC-SHA256 signatures of longrun webhooks, for the sender and for receivers.
 *
 * @example
 * ```ts
 * import { verifyWebhook } from 'longrun';
 *
 * // rawBody: the request body exactly as received (string or Buffer), before JSON.parse
 * const check = verifyWebhook(process.env.LONGRUN_WEBHOOK_SECRET!, req.headers, rawBody);
 * if (!check.ok) return res.writeHead(401).end(check.reason);
 * ```
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { WEBHOOK_HEADERS } from '../shared/webhooks';

const PREFIX = 'sha256=';

/** How far a webhook's timestamp may be from the receiver's clock, ms. */
export const DEFAULT_WEBHOOK_TOLERANCE_MS = 5 * 60_000;

function hmac(secret: string, timestampMs: number | string, body: string | Uint8Array): Buffer {
  return createHmac('sha256', secret).update(`${timestampMs}.`).update(body).digest();
}

/** `sha256=<hex>`: HMAC-SHA256 with `secret` over `<timestampMs>.<body>`. */
export function signWebhook(secret: string, timestampMs: number, body: string | Uint8Array): string {
  return PREFIX + hmac(secret, timestampMs, body).toString('hex');
}

/** Request headers as Node (`req.headers`) or fetch (`Headers`) hand them over. */
export type WebhookRequestHeaders =
  Headers | Record<string, string | string[] | undefined> | { get(name: string): string | null };

export type WebhookVerification =
  | { ok: true }
  | {
      ok: false;
      reason:
        | 'missing-signature'
        | 'missing-timestamp'
        | 'malformed-signature'
        | 'malformed-timestamp'
        | 'stale-timestamp'
        | 'signature-mismatch';
    };

export interface VerifyWebhookOptions {
  /** Largest accepted difference between the timestamp header and `now`, ms. @default 300000 */
  toleranceMs?: number;
  /** The receiver's clock, epoch ms. @default Date.now() */
  now?: number;
}

function header(headers: WebhookRequestHeaders, name: string): string | undefined {
  if (typeof headers.get === 'function') return headers.get(name) ?? undefined;
  const lower = name.toLowerCase();
  for (const [key, value] of Object.entries(headers as Record<string, string | string[] | undefined>)) {
    if (key.toLowerCase() === lower) return Array.isArray(value) ? value[0] : value;
  }
  return undefined;
}

/**
 * Checks that a webhook was signed with `secret` over this exact `body` (the raw bytes, not a
 * re-serialized object) and recently enough to rule out replays. Compares in constant time.
 */
export function verifyWebhook(
  secret: string,
  headers: WebhookRequestHeaders,
  body: string | Uint8Array,
  options: VerifyWebhookOptions = {}
): WebhookVerification {
  const signature = header(headers, WEBHOOK_HEADERS.signature)?.trim();
  if (!signature) return { ok: false, reason: 'missing-signature' };
  const timestamp = header(headers, WEBHOOK_HEADERS.timestamp)?.trim();
  if (!timestamp) return { ok: false, reason: 'missing-timestamp' };
  if (!/^\d{1,16}$/.test(timestamp)) return { ok: false, reason: 'malformed-timestamp' };
  if (!signature.startsWith(PREFIX) || !/^[0-9a-f]{64}$/i.test(signature.slice(PREFIX.length)))
    return { ok: false, reason: 'malformed-signature' };
  const now = options.now ?? Date.now();
  const tolerance = options.toleranceMs ?? DEFAULT_WEBHOOK_TOLERANCE_MS;
  if (Math.abs(now - Number(timestamp)) > tolerance) return { ok: false, reason: 'stale-timestamp' };
  const expected = hmac(secret, timestamp, body);
  const given = Buffer.from(signature.slice(PREFIX.length), 'hex');
  // Both are 32 bytes (checked above), as timingSafeEqual requires.
  return timingSafeEqual(expected, given) ? { ok: true } : { ok: false, reason: 'signature-mismatch' };
}
