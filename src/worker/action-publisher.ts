/**
 * A starting worker publishes the actions it runs (names, descriptions, input schemas) to its task
 * queue's `actionCatalog` workflow, where clients check specs against them before starting a task.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Client } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import type { AgentAction } from '../activities';
import {
  CATALOG_WORKFLOW_TYPE,
  catalogWorkflowId,
  publishedAction,
  type ActionCatalog,
} from '../shared/action-catalog';
import { actionCatalog, publishActionsSignal } from '../workflows/action-catalog';

/** longrun's own version (package.json), the same from `src/` and from `dist/`. */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
    version?: string;
  };
  return pkg.version ?? '0.0.0';
}

export function catalogOf(actions: readonly AgentAction[], taskQueue: string, worker: string): ActionCatalog {
  const published = [...actions]
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .map((a) => publishedAction(a.name, a.description, a.input));
  const hash = createHash('sha256').update(JSON.stringify(published)).digest('hex').slice(0, 10);
  return {
    taskQueue,
    workerVersion: `${packageVersion()}+${hash}`,
    worker,
    publishedAt: new Date().toISOString(),
    actions: published,
  };
}

export async function publishActions(
  connection: NativeConnection,
  namespace: string,
  catalog: ActionCatalog
): Promise<void> {
  const client = new Client({ connection, namespace });
  await client.workflow.signalWithStart(actionCatalog, {
    workflowId: catalogWorkflowId(catalog.taskQueue),
    taskQueue: catalog.taskQueue,
    args: [{}],
    signal: publishActionsSignal,
    signalArgs: [catalog],
    staticSummary: `Actions the workers of task queue "${catalog.taskQueue}" run (longrun ${CATALOG_WORKFLOW_TYPE})`,
  });
}

export const workerIdentity = (): string => `${process.pid}@${hostname()}`;
