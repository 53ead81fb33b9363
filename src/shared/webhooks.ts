/**
 * Task notifications sent as webhooks (callbacks to other services on task events): the event
 * types, the payload, the delivery an activity sends, a target's configuration and the retry
 * schedule. Pure: imported by workflow code.
 *
 * @example
 * ```ts
 * const event: WebhookEvent = { id: `${taskId}:task.completed`, type: 'task.completed', taskId,
 *   agent: 'codebase-review', at: new Date().toISOString(), data: { result } };
 * await sendWebhook({ url, event }); // proxyActivities({ retry: webhookRetryPolicy(), ... })
 * ```
 */
import type { RetryPolicy } from '@temporalio/common';
import { z } from 'zod';
import { lazy } from './lazy';

export const WEBHOOK_EVENT_TYPES = [
  'task.completed',
  'task.failed',
  'task.paused',
  'task.idle',
  'task.deadline',
  'task.budget',
  'task.approval',
] as const;
/** What happened to a task; a target may subscribe to a subset. */
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** One notification about one task. Its JSON is the request body. */
export interface WebhookEvent {
  /** Unique per event and stable across retries: receivers de-duplicate on it (`X-Longrun-Delivery`). */
  id: string;
  type: WebhookEventType;
  taskId: string;
  /** The task's agent (spec `agent`). */
  agent: string;
  /** When the event happened (workflow time), ISO 8601 UTC. */
  at: string;
  /** Event-specific facts (result summary, error, reason, ...). Keep it small: it is in history. */
  data: Record<string, unknown>;
}

/** One event for one target URL: the input of the `sendWebhook` activity. */
export interface WebhookDelivery {
  url: string;
  event: WebhookEvent;
}

/** Request headers a longrun webhook carries (HTTP header names are case-insensitive). */
export const WEBHOOK_HEADERS = {
  /** The event type, e.g. `task.completed`. */
  event: 'X-Longrun-Event',
  /** The event id, the same on every retry. */
  delivery: 'X-Longrun-Delivery',
  /** When this attempt was signed, epoch milliseconds. */
  timestamp: 'X-Longrun-Timestamp',
  /** `sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`; only when a secret is configured. */
  signature: 'X-Longrun-Signature',
} as const;

/** An absolute http: or https: URL. */
export const webhookUrlSchema = lazy(() =>
  z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' })
);

export const webhookEventTypeSchema = lazy(() => z.enum(WEBHOOK_EVENT_TYPES));

export const webhookEventSchema = lazy(
  () =>
    z.object({
      id: z.string().min(1).max(200),
      type: webhookEventTypeSchema(),
      taskId: z.string().min(1),
      agent: z.string().min(1),
      at: z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time' }),
      data: z.record(z.string(), z.unknown()),
    }) satisfies z.ZodType<WebhookEvent>
);

export const webhookDeliverySchema = lazy(
  () =>
    z.object({
      url: webhookUrlSchema(),
      event: webhookEventSchema(),
    }) satisfies z.ZodType<WebhookDelivery>
);

/** Where to send a task's events: every event type unless `events` lists some. */
export const webhookTargetSchema = lazy(() =>
  z.strictObject({
    url: webhookUrlSchema(),
    /** Event types to send. @default every type */
    events: z.array(webhookEventTypeSchema()).min(1).optional(),
  })
);
export type WebhookTarget = z.infer<ReturnType<typeof webhookTargetSchema>>;

/** Whether `target` subscribed to events of this type. */
export function wantsEvent(target: WebhookTarget, type: WebhookEventType): boolean {
  return target.events === undefined || target.events.includes(type);
}

/**
 * Temporal retry policy of the `sendWebhook` activity: first retry after 1 s, then doubling (2, 4, 8,
 * ... s), never more than 5 min apart, 10 attempts in all (about 8.5 min of waiting, plus the
 * request timeouts). A receiver's Retry-After (429/503) replaces the computed wait for that retry.
 * Refusals (4xx other than 408 and 429) are non-retryable and stop at once.
 */
export function webhookRetryPolicy(): RetryPolicy {
  return {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '5 minutes',
    maximumAttempts: 10,
  };
}
