import { proxyActivities } from '@temporalio/workflow';
import type { createNotifyActivities } from '../activities/notify';
import { webhookRetryPolicy, type WebhookDelivery } from '../shared/webhooks';

type NotifyActivities = ReturnType<typeof createNotifyActivities>;

/**
 * Delivers one webhook event to one URL, retrying with backoff (`webhookRetryPolicy`). A task starts
 * it as an abandoned child workflow, so a slow or failing receiver never holds the task up, and a
 * delivery still in its retries when the task ends keeps going.
 */
export async function deliverWebhook(
  delivery: WebhookDelivery
): Promise<{ status: number; attempt: number }> {
  const { sendWebhook } = proxyActivities<NotifyActivities>({
    summary: `${delivery.event.type} → ${delivery.url}`,
    startToCloseTimeout: '30 seconds',
    retry: webhookRetryPolicy(),
  });
  const { status, attempt } = await sendWebhook(delivery);
  return { status, attempt };
}
