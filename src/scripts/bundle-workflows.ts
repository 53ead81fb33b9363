/** Build step: bundles the workflows once into dist/workflow-bundle.js so workers start fast. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';

async function main(): Promise<void> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../workflows'),
    logger: { trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error, log() {} },
  });
  const target = join(__dirname, '..', 'workflow-bundle.js');
  writeFileSync(target, code);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
