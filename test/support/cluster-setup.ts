/**
 * Global setup of the cluster tier (`npm run test:cluster`): the Temporal CLI as for `npm test`, then
 * a native cluster (PostgreSQL, the Temporal server, no UI) in a temporary folder on free ports. Test
 * files reach it through LONGRUN_TEST_TEMPORAL_ADDRESS (test/support/temporal.ts then uses it instead
 * of a dev server) and LONGRUN_TEST_CLUSTER (the folder, for tests that kill its processes).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clusterDown, clusterUp } from '../../src/cluster/cluster';
import { temporalCliPath } from '../../src/dev/temporal-cli';
import { freeClusterPorts } from './ports';

export default async function clusterSetup(): Promise<void> {
  process.env.LONGRUN_TEMPORAL_CLI = temporalCliPath();
  const dir = mkdtempSync(join(tmpdir(), 'longrun-cluster-'));
  const ports = { ...(await freeClusterPorts()), ui: 0 };
  const started = Date.now();
  const say = (line: string) => process.stderr.write(`[cluster] ${line}\n`);
  // A cluster that fails to come up must not leave PostgreSQL running (no teardown runs then).
  const status = await clusterUp({ dir, ports, say }).catch(async (err: unknown) => {
    await clusterDown({ dir, purge: true }).catch(() => undefined);
    throw err;
  });
  process.stderr.write(`[cluster] up in ${Date.now() - started} ms: ${status.address}, folder ${dir}\n`);
  process.env.LONGRUN_TEST_TEMPORAL_ADDRESS = status.address;
  process.env.LONGRUN_TEST_CLUSTER = dir;
}
