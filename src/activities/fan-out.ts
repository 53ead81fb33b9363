/**
 * The worker's side of fan-out and fan-in: counting the items of an artifact, replacing the references
 * the workflow leaves in a step's input (an item in an artifact, gathered outputs stored as an
 * artifact) and gathering the outputs of a fan-out's items for the steps after it.
 */
import type { ArtifactStore } from '../runtime/artifact-store';
import {
  isArtifactRef,
  type ArtifactContentMarker,
  type ArtifactItemMarker,
  type ArtifactRef,
} from '../shared/step-io';

/** Gathered outputs up to this size go inline into the fan-out's output; larger ones as an artifact. */
export const INLINE_GATHER_BYTES = 64 * 1024;

function isItemMarker(value: unknown): value is ArtifactItemMarker {
  const v = (value as Partial<ArtifactItemMarker> | null)?.$artifactItem;
  return (
    typeof value === 'object' &&
    value !== null &&
    Object.keys(value).length === 1 &&
    typeof v === 'object' &&
    isArtifactRef(v?.ref)
  );
}

function isContentMarker(value: unknown): value is ArtifactContentMarker {
  return (
    typeof value === 'object' &&
    value !== null &&
    Object.keys(value).length === 1 &&
    isArtifactRef((value as Partial<ArtifactContentMarker>).$artifact)
  );
}

async function itemsOf(
  store: ArtifactStore,
  ref: ArtifactRef,
  cache: Map<string, unknown[]>
): Promise<unknown[]> {
  const cached = cache.get(ref.sha256);
  if (cached) return cached;
  const items = await store.getJson<unknown>(ref);
  if (!Array.isArray(items)) throw new Error(`artifact ${ref.name} does not hold a JSON array`);
  const list = items as unknown[];
  cache.set(ref.sha256, list);
  return list;
}

/** A few artifacts' items, kept so the sub-steps of one fan-out do not each parse the whole array. */
const ITEM_CACHE_LIMIT = 4;
const itemCache = new Map<string, unknown[]>();

/** The step input with every worker-side reference replaced by the value it stands for. */
export async function resolveWorkerReferences(store: ArtifactStore, input: unknown): Promise<unknown> {
  if (isItemMarker(input)) {
    const { ref, index, path } = input.$artifactItem;
    const items = await itemsOf(store, ref, itemCache);
    while (itemCache.size > ITEM_CACHE_LIMIT) itemCache.delete(itemCache.keys().next().value as string);
    let value: unknown = items[index];
    for (const field of path) {
      if (typeof value !== 'object' || value === null || !(field in value)) {
        throw new Error(`item ${index} of artifact ${ref.name} has no field "${field}"`);
      }
      value = (value as Record<string, unknown>)[field];
    }
    return value;
  }
  if (isContentMarker(input)) return store.getJson<unknown>(input.$artifact);
  if (Array.isArray(input)) return Promise.all(input.map((v) => resolveWorkerReferences(store, v)));
  if (typeof input === 'object' && input !== null) {
    const entries = await Promise.all(
      Object.entries(input).map(async ([k, v]) => [k, await resolveWorkerReferences(store, v)] as const)
    );
    return Object.fromEntries(entries);
  }
  return input;
}

export function createFanOutActivities(deps: { artifacts: ArtifactStore }) {
  return {
    /** How many items the JSON array in an artifact holds (a `forEach` over an artifact). */
    async countItems({ ref }: { ref: ArtifactRef }): Promise<{ count: number }> {
      return { count: (await itemsOf(deps.artifacts, ref, itemCache)).length };
    },

    /**
     * The outputs of a fan-out's items in item order (null for skipped items): inline when small,
     * else as `{ $artifact: ref }`, which a later step's worker replaces with the array.
     */
    async gatherItemOutputs(request: {
      taskId: string;
      stepId: string;
      total: number;
    }): Promise<{ outputs: unknown[] | ArtifactContentMarker }> {
      const outputs = await deps.artifacts.readItemOutputs(request.taskId, request.stepId, request.total);
      const json = JSON.stringify(outputs);
      if (Buffer.byteLength(json) <= INLINE_GATHER_BYTES) return { outputs };
      const ref = await deps.artifacts.put(json, {
        name: `${request.stepId}.outputs.json`,
        mediaType: 'application/json',
      });
      return { outputs: { $artifact: ref } };
    },
  };
}
