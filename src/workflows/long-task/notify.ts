/**
 * Tells a task's webhooks about an event: one abandoned child workflow per target, so delivery (with
 * its retries) never holds the task up and outlives it.
 */
import { CancellationScope, ParentClosePolicy, startChild, workflowInfo } from '@temporalio/workflow';
import { wantsEvent, type WebhookEventType } from '../../shared/webhooks';
import { deliverWebhook } from '../notify';
import { failureMessage, note, now, type TaskRun } from './run';

/** Starts the deliveries; returns once they started (a later workflow task). */
export async function notify(
  run: TaskRun,
  type: WebhookEventType,
  data: Record<string, unknown>
): Promise<void> {
  const { spec, state } = run;
  const targets = spec.webhooks.filter((t) => wantsEvent(t, type));
  if (targets.length === 0) return;
  state.notifySeq += 1;
  // Unique per run (a rollback starts a new run) and stable across the delivery's retries.
  const id = `${spec.taskId}:${type}:${workflowInfo().runId.slice(0, 8)}.${state.notifySeq}`;
  const event = { id, type, taskId: spec.taskId, agent: spec.agent, at: new Date(now()).toISOString(), data };
  await CancellationScope.nonCancellable(() =>
    Promise.all(
      targets.map(async (target, i) => {
        try {
          await startChild(deliverWebhook, {
            args: [{ url: target.url, event }],
            workflowId: `${id}:${i}`,
            parentClosePolicy: ParentClosePolicy.ABANDON,
            staticSummary: `webhook ${type} of ${spec.taskId}`,
          });
        } catch (err) {
          note(run, 'error', `webhook ${type} to ${target.url} not started: ${failureMessage(err)}`);
        }
      })
    )
  );
}

/** Starts deliveries without waiting for them (for events raised inside handlers and watchers). */
export function notifyLater(run: TaskRun, type: WebhookEventType, data: Record<string, unknown>): void {
  void notify(run, type, data);
}
