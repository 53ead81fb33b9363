/**
 * Workflows registered by the longrun worker. Only `shared/` and this folder enter the workflow sandbox.
 *
 * @example
 * ```ts
 * const handle = await client.workflow.start(longTask, { taskQueue: 'longrun', workflowId: spec.taskId, args: [{ spec }] });
 * const progress = await handle.query(progressQuery);
 * ```
 */
export { longTask, progressQuery } from './long-task';
export { deliverWebhook } from './notify';
export type { LongTaskInput, LongTaskResult } from './long-task';
export { actionCatalog, actionsQuery, publishActionsSignal } from './action-catalog';
export { progressBoard, boardReportSignal, liveProgressQuery } from './progress-board';
