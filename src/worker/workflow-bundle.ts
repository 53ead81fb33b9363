/**
 * How longrun's workflow code is bundled, in one place for the build (`npm run build`), a worker run
 * from the sources, and the tests.
 *
 * The SDK runs all cached workflows in one reused V8 context, but each workflow loads its own copy
 * of every module it imports: zod's library alone was about 0.5 MB of heap per cached task, and
 * longrun's schemas as much again (bench/workflow-memory.mjs). A preloaded module is loaded once per
 * context and shared (and frozen), so the bundle preloads zod's library and all of shared/, whose
 * modules are pure and hold their schemas in getters (src/shared/lazy.ts says why).
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { WorkerOptions } from '@temporalio/worker';

export type WorkflowCode = Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath' | 'bundlerOptions'>;

export const PREBUILT_BUNDLE = join(__dirname, '..', 'workflow-bundle.js');

/** What `bundleWorkflowCode` gets: the workflows beside this file (`dist/` or `src/`). */
export function workflowBundleOptions(): { workflowsPath: string; preloadModules: string[] } {
  return {
    workflowsPath: require.resolve('../workflows'),
    preloadModules: [require.resolve('../workflows/zod-library'), ...sharedModules()],
  };
}

/** Every module of shared/ (`.ts` beside the sources, `.js` in `dist/`). */
function sharedModules(): string[] {
  const dir = join(__dirname, '..', 'shared');
  return readdirSync(dir)
    .filter((f) => /\.(js|ts)$/.test(f) && !f.endsWith('.d.ts'))
    .sort()
    .map((f) => join(dir, f));
}

/** A worker's workflow code: the bundle `npm run build` wrote, or else the sources, bundled at start. */
export function workerWorkflowCode(): WorkflowCode {
  if (existsSync(PREBUILT_BUNDLE)) return { workflowBundle: { codePath: PREBUILT_BUNDLE } };
  const { workflowsPath, preloadModules } = workflowBundleOptions();
  return { workflowsPath, bundlerOptions: { preloadModules } };
}
