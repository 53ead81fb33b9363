/**
 * How longrun's workflow code is bundled, in one place for the build (`npm run build`), a worker run
 * from the sources, and the tests.
 *
 * The SDK runs all cached workflows in one reused V8 context, but each workflow loads its own copy
 * of every module it imports: zod's library alone was about 0.5 MB of heap per cached task
 * (bench/workflow-memory.mjs). A preloaded module is loaded once per context and shared (and
 * frozen), so the bundle preloads zod's library. Not longrun's schemas: a zod 4 schema defines
 * members on itself when first used, which a frozen one cannot.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { WorkerOptions } from '@temporalio/worker';

export type WorkflowCode = Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath' | 'bundlerOptions'>;

export const PREBUILT_BUNDLE = join(__dirname, '..', 'workflow-bundle.js');

/** What `bundleWorkflowCode` gets: the workflows beside this file (`dist/` or `src/`). */
export function workflowBundleOptions(): { workflowsPath: string; preloadModules: string[] } {
  return {
    workflowsPath: require.resolve('../workflows'),
    preloadModules: [require.resolve('../workflows/zod-library')],
  };
}

/** A worker's workflow code: the bundle `npm run build` wrote, or else the sources, bundled at start. */
export function workerWorkflowCode(): WorkflowCode {
  if (existsSync(PREBUILT_BUNDLE)) return { workflowBundle: { codePath: PREBUILT_BUNDLE } };
  const { workflowsPath, preloadModules } = workflowBundleOptions();
  return { workflowsPath, bundlerOptions: { preloadModules } };
}
