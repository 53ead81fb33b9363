/** The action catalogs a task queue's workers published, read without a worker (and briefly cached). */
import type { Client } from '@temporalio/client';
import { decodeArrayFromPayloads } from '@temporalio/common/lib/internal-non-workflow';
import { z } from 'zod';
import { actionCatalogSchema, catalogWorkflowId, type ActionCatalog } from '../shared/action-catalog';

/** How long what was read is reused (a burst of starts reads the catalog once). */
const CATALOG_CACHE_MS = 5_000;
const GRPC_NOT_FOUND = 5;

export class CatalogReader {
  private cache: { at: number; catalogs: ActionCatalog[] } | undefined;

  constructor(
    private readonly client: Client,
    private readonly taskQueue: string
  ) {}

  /** Newest first; empty if no worker has published since the server's data began. */
  async read(): Promise<ActionCatalog[]> {
    const cached = this.cache;
    if (cached && Date.now() - cached.at < CATALOG_CACHE_MS) return cached.catalogs;
    let catalogs: ActionCatalog[] = [];
    try {
      // The catalogs are the input of the catalog workflow's current run: its first event.
      const { history } = await this.client.workflowService.getWorkflowExecutionHistory({
        namespace: this.client.options.namespace,
        execution: { workflowId: catalogWorkflowId(this.taskQueue) },
        maximumPageSize: 1,
      });
      const payloads = history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads ?? [];
      const [input] = await decodeArrayFromPayloads(this.client.options.loadedDataConverter, payloads);
      const parsed = z
        .array(actionCatalogSchema())
        .safeParse((input as { catalogs?: unknown } | undefined)?.catalogs ?? []);
      catalogs = parsed.success ? parsed.data : [];
    } catch (err) {
      if ((err as { code?: number }).code !== GRPC_NOT_FOUND) throw err;
    }
    // An empty answer is not kept: the first worker may publish any moment now.
    this.cache = catalogs.length > 0 ? { at: Date.now(), catalogs } : undefined;
    return catalogs;
  }
}
