import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { LONGRUN_SEARCH_ATTRIBUTES } from '../../src/shared/search-attributes';

/** A real Temporal dev server (the provisioned CLI binary) with longrun's search attributes. */
export async function startDevServerEnv(extraArgs: string[] = []): Promise<TestWorkflowEnvironment> {
  const path = process.env.LONGRUN_TEMPORAL_CLI;
  if (!path) throw new Error('LONGRUN_TEMPORAL_CLI is not set: run the tests through jest (global setup)');
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path },
      searchAttributes: [...LONGRUN_SEARCH_ATTRIBUTES],
      extraArgs,
    },
  });
}

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
/** The workflows bundled once per test file. */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({ workflowsPath: require.resolve('../../src/workflows') });
  return bundle;
}
