/**
 * The native cluster runs the Temporal server and UI the provisioned CLI embeds (its go.mod names
 * them), so the dev server and the cluster behave alike; and the cluster that global setup started
 * reports those versions, its namespace retention and longrun's search attributes on SQL visibility.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Connection } from '@temporalio/client';
import { clusterStatus } from '../../src/cluster/cluster';
import { CLUSTER, retentionMs, TEMPORAL_VERSIONS } from '../../src/cluster/topology';

it('pins the server and UI versions the Temporal CLI embeds', () => {
  const r = spawnSync(
    'go',
    ['mod', 'download', '-json', `github.com/temporalio/cli@${TEMPORAL_VERSIONS.cli}`],
    {
      encoding: 'utf8',
    }
  );
  expect(r.status).toBe(0);
  const goMod = readFileSync((JSON.parse(r.stdout) as { GoMod: string }).GoMod, 'utf8');
  expect(goMod).toMatch(
    new RegExp(`^\\s*go\\.temporal\\.io/server ${TEMPORAL_VERSIONS.server.replace(/\./g, '\\.')}$`, 'm')
  );
  expect(goMod).toMatch(
    new RegExp(
      `^\\s*github\\.com/temporalio/ui-server/v2 ${TEMPORAL_VERSIONS.ui.replace(/\./g, '\\.')}$`,
      'm'
    )
  );
});

it('runs with the namespace retention and search attributes of the topology', async () => {
  const status = await clusterStatus({ dir: process.env.LONGRUN_TEST_CLUSTER as string });
  expect(status).toMatchObject({
    postgres: { running: true },
    temporal: { running: true },
    namespace: 'default',
  });
  const connection = await Connection.connect({ address: status.address });
  try {
    const { serverVersion } = await connection.workflowService.getSystemInfo({});
    expect(`v${serverVersion}`).toBe(TEMPORAL_VERSIONS.server);
    const ns = await connection.workflowService.describeNamespace({ namespace: CLUSTER.namespace });
    expect(Number(ns.config?.workflowExecutionRetentionTtl?.seconds) * 1000).toBe(retentionMs());
    const { customAttributes, systemAttributes } = await connection.operatorService.listSearchAttributes({
      namespace: CLUSTER.namespace,
    });
    for (const key of CLUSTER.searchAttributes) expect(customAttributes).toHaveProperty(key.name);
    expect(systemAttributes).toHaveProperty('WorkflowType'); // SQL visibility answers
  } finally {
    await connection.close();
  }
});
