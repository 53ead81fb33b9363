/**
 * The `sendWebhook` activity: POSTs one task event to one URL, signed when a secret is configured.
 * Temporal retries it (`webhookRetryPolicy()`); what it throws says whether and when to retry.
 *
 * @example
 * ```ts
 * const { sendWebhook } = createNotifyActivities({ secret: process.env.LONGRUN_WEBHOOK_SECRET });
 * ```
 */
import { scrubError } from '../runtime/secrets';
import { performance } from 'node:perf_hooks';
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { FailureType } from '../shared/errors';
import { FAILURE_TYPE_OF_KIND, retryAfterMs } from '../shared/failures';
import { issuesOf } from '../shared/validation';
import { WEBHOOK_HEADERS, webhookDeliverySchema, type WebhookDelivery } from '../shared/webhooks';
import { signWebhook } from '../runtime/webhook-signing';
import { PermanentError, TransientError } from './errors';

export interface NotifyDeps {
  /** HMAC secret for `X-Longrun-Signature`; unset: requests are not signed. */
  secret?: string;
  /** Per-attempt limit for the whole request (connect, send, response), ms. @default 10000 */
  timeoutMs?: number;
  /** @default "longrun" */
  userAgent?: string;
}

export interface WebhookSent {
  /** The receiver's HTTP status (2xx). */
  status: number;
  /** Temporal attempt number of this delivery (1 = first try). */
  attempt: number;
  /** How long the request took, ms. */
  ms: number;
}

/** Statuses worth retrying although they are 4xx. */
const RETRYABLE_4XX = new Set([408, 425, 429]);

/** The URL for messages: without credentials or query string, which often carry tokens. */
function describeUrl(url: string, base?: string): string {
  if (!URL.canParse(url, base)) return '(an unreadable URL)';
  const u = new URL(url, base);
  return `${u.protocol}//${u.host}${u.pathname}${u.search ? '?…' : ''}`;
}

/** Reads a thrown value without `instanceof` (fetch's errors may come from another realm). */
function errorFacts(err: unknown): { name: string; message: string; cause: unknown } {
  const e = (typeof err === 'object' && err !== null ? err : {}) as Record<string, unknown>;
  return {
    name: typeof e.name === 'string' ? e.name : '',
    message: typeof e.message === 'string' ? e.message : String(err),
    cause: e.cause,
  };
}

/** fetch says only "fetch failed"; the cause's code (ECONNREFUSED, ...) says why. */
function networkReason(err: unknown): string {
  const { message, cause } = errorFacts(err);
  if (cause === undefined) return message;
  const c = errorFacts(cause);
  const code = (cause as { code?: unknown }).code;
  return `${message} (${typeof code === 'string' ? code : c.message})`;
}

async function bodySnippet(res: Response): Promise<string> {
  const text = (await res.text().catch(() => '')).replace(/\s+/g, ' ').trim();
  return text ? `: ${text.length > 200 ? `${text.slice(0, 200)}…` : text}` : '';
}

/** What a failed attempt throws: the same failure types runStep uses, so one retry vocabulary. */
function deliveryFailure(
  err: TransientError | PermanentError,
  details: { url: string; deliveryId: string; attempt: number; status: number | null }
): ApplicationFailure {
  scrubError(err); // a receiver's answer may echo a secret: none goes into history
  const transient = err instanceof TransientError;
  const retryAfter = transient ? err.retryAfterMs : undefined;
  return ApplicationFailure.create({
    type: FAILURE_TYPE_OF_KIND[transient ? 'transient' : 'permanent'],
    message: err.message,
    nonRetryable: !transient,
    ...(retryAfter === undefined ? {} : { nextRetryDelay: retryAfter }),
    details: [{ ...details, ...(retryAfter === undefined ? {} : { retryAfterMs: retryAfter }) }],
    cause: err,
  });
}

export function createNotifyActivities(deps: NotifyDeps = {}) {
  const timeoutMs = deps.timeoutMs ?? 10_000;
  const userAgent = deps.userAgent ?? 'longrun';
  return {
    /** Sends one task event to one webhook URL; 2xx is success, anything else throws. */
    async sendWebhook(delivery: WebhookDelivery): Promise<WebhookSent> {
      const parsed = webhookDeliverySchema().safeParse(delivery);
      if (!parsed.success) {
        const issues = issuesOf(parsed.error, 'delivery');
        throw ApplicationFailure.create({
          type: FailureType.InvalidInput,
          nonRetryable: true,
          message: `webhook: ${issues.map((i) => `${i.path}: ${i.rule}`).join('; ')}`,
          details: [issues],
        });
      }
      const { url, event } = parsed.data;
      const ctx = Context.current();
      const attempt = ctx.info.attempt;
      const target = `webhook ${event.type} to ${describeUrl(url)}`;
      const body = JSON.stringify(event);
      const timestamp = Date.now();
      const headers: Record<string, string> = {
        'Content-Type': 'application/json',
        'User-Agent': userAgent,
        [WEBHOOK_HEADERS.event]: event.type,
        [WEBHOOK_HEADERS.delivery]: event.id,
        [WEBHOOK_HEADERS.timestamp]: String(timestamp),
      };
      if (deps.secret) headers[WEBHOOK_HEADERS.signature] = signWebhook(deps.secret, timestamp, body);
      const facts = { url: describeUrl(url), deliveryId: event.id, attempt };
      const started = performance.now();
      let res: Response;
      try {
        res = await fetch(url, {
          method: 'POST',
          headers,
          body,
          // A redirected POST may turn into a GET or leave the signed host: configure the final URL.
          redirect: 'manual',
          signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), ctx.cancellationSignal]),
        });
        if (res.status >= 200 && res.status < 300) {
          await res.body?.cancel().catch(() => undefined);
          return { status: res.status, attempt, ms: Math.round(performance.now() - started) };
        }
      } catch (err) {
        if (ctx.cancellationSignal.aborted) {
          // A stopping worker is no reason to give up the event: another worker retries it.
          if (!ctx.cancellationDetails?.workerShutdown) throw new CancelledFailure(`${target} cancelled`);
          throw deliveryFailure(new TransientError(`${target} interrupted: the worker is shutting down`), {
            ...facts,
            status: null,
          });
        }
        const why =
          errorFacts(err).name === 'TimeoutError'
            ? `timed out after ${timeoutMs} ms`
            : `failed: ${networkReason(err)}`;
        throw deliveryFailure(new TransientError(`${target} ${why}`, { cause: err }), {
          ...facts,
          status: null,
        });
      }
      const answered = `${target} answered ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`;
      const status = res.status;
      const retryAfter =
        status === 429 || status === 503 ? retryAfterMs(res.headers.get('retry-after'), Date.now()) : null;
      const snippet = await bodySnippet(res);
      if (status >= 500 || RETRYABLE_4XX.has(status)) {
        const err = new TransientError(
          `${answered}${snippet}`,
          retryAfter === null ? {} : { retryAfterMs: retryAfter }
        );
        throw deliveryFailure(err, { ...facts, status });
      }
      const location = status >= 300 && status < 400 ? res.headers.get('location') : null;
      const hint = location ? ` (redirects to ${describeUrl(location, url)}; not followed)` : '';
      throw deliveryFailure(new PermanentError(`${answered}${hint}${snippet}; not retried`), {
        ...facts,
        status,
      });
    },
  };
}

export type NotifyActivities = ReturnType<typeof createNotifyActivities>;
