/**
 * `actionCatalog`: one per task queue (`longrun-actions-<queue>`), started by the first worker that
 * publishes. The catalogs travel as the input of its current run: each publish continues it as new
 * with the merged list, so a client reads them from the run's first event with one call, even while
 * no worker runs, and a catalog may be as large as a payload (a memo is capped at a few KB). The
 * memo holds a summary for the Web UI.
 */
import {
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  log,
  setHandler,
  upsertMemo,
} from '@temporalio/workflow';
import {
  actionCatalogSchema,
  addCatalog,
  CATALOG_MEMO,
  catalogSummary,
  type ActionCatalog,
} from '../shared/action-catalog';

/** Sent by each worker when it starts. */
export const publishActionsSignal = defineSignal<[ActionCatalog]>('publishActions');
/** The catalogs, newest first. */
export const actionsQuery = defineQuery<ActionCatalog[]>('actions');

export interface ActionCatalogInput {
  /** Newest first. */
  catalogs?: ActionCatalog[];
}

export async function actionCatalog(input: ActionCatalogInput = {}): Promise<void> {
  const catalogs = input.catalogs ?? [];
  let next: ActionCatalog[] | undefined;
  setHandler(
    publishActionsSignal,
    (payload) => {
      const parsed = actionCatalogSchema().safeParse(payload);
      if (!parsed.success) {
        log.warn('ignored a malformed publishActions signal', { issues: parsed.error.issues.length });
        return;
      }
      next = addCatalog(next ?? catalogs, parsed.data);
    },
    { description: 'A worker publishes the actions it runs and their input schemas' }
  );
  setHandler(actionsQuery, () => next ?? catalogs, { description: 'Catalogs of the workers, newest first' });
  if (catalogs.length > 0) upsertMemo({ [CATALOG_MEMO]: catalogSummary(catalogs) });
  await condition(() => next !== undefined);
  await continueAsNew<typeof actionCatalog>({ catalogs: next });
}
