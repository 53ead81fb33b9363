/** Build step: bundles the workflows once into dist/workflow-bundle.js so workers start fast. */
import { writeFileSync } from 'node:fs';
import { bundleWorkflowCode } from '@temporalio/worker';
import { PREBUILT_BUNDLE, workflowBundleOptions } from '../worker/workflow-bundle';

async function main(): Promise<void> {
  const { code } = await bundleWorkflowCode({
    ...workflowBundleOptions(),
    logger: { trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error, log() {} },
  });
  writeFileSync(PREBUILT_BUNDLE, code);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
