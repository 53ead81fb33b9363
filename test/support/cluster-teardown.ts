/** Global teardown of the cluster tier: stops the cluster and deletes its folder (LONGRUN_CHAOS_KEEP=1 keeps it). */
import { clusterDown } from '../../src/cluster/cluster';

export default async function clusterTeardown(): Promise<void> {
  const dir = process.env.LONGRUN_TEST_CLUSTER;
  if (!dir) return;
  const keep = process.env.LONGRUN_CHAOS_KEEP === '1';
  await clusterDown({ dir, purge: !keep });
  if (keep) process.stderr.write(`[cluster] kept ${dir}\n`);
}
