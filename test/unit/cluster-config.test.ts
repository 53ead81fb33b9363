import { parse } from 'yaml';
import { allPorts, serverConfigYaml, serverPorts, uiConfigYaml } from '../../src/cluster/server-config';
import { CLUSTER, retentionMs } from '../../src/cluster/topology';
import { buildProgram } from '../../src/cli';

describe('native cluster configuration', () => {
  it("uses Temporal's default ports at 7233 and shifts them all alike", () => {
    expect(serverPorts(7233)).toEqual({
      frontend: { grpc: 7233, membership: 6933, http: 7243 },
      history: { grpc: 7234, membership: 6934 },
      matching: { grpc: 7235, membership: 6935 },
      worker: { grpc: 7239, membership: 6939 },
      metrics: 8000,
    });
    expect(serverPorts(27233).history).toEqual({ grpc: 27234, membership: 26934 });
    const ports = allPorts({ frontend: 7233, postgres: 55432, ui: 8080 });
    expect(new Set(ports).size).toBe(ports.length);
    expect(allPorts({ frontend: 7233, postgres: 55432, ui: 0 })).not.toContain(0);
  });

  it('renders a server config on PostgreSQL with both databases, loopback ports and the dynamic config', () => {
    const yaml = parse(serverConfigYaml({ frontend: 27233, postgres: 25432, ui: 0 }, '/x/dc.yaml')) as {
      persistence: { numHistoryShards: number; datastores: Record<string, { sql: Record<string, unknown> }> };
      services: Record<string, { rpc: Record<string, unknown> }>;
      clusterMetadata: { clusterInformation: { active: { rpcAddress: string } } };
      dynamicConfigClient: { filepath: string };
    };
    expect(yaml.persistence.numHistoryShards).toBe(CLUSTER.numHistoryShards);
    const stores = Object.values(yaml.persistence.datastores).map((d) => d.sql);
    expect(stores.map((sql) => sql.databaseName)).toEqual(CLUSTER.databases.map((db) => db.name));
    for (const sql of stores) {
      expect(sql).toMatchObject({
        pluginName: 'postgres12',
        connectAddr: '127.0.0.1:25432',
        user: CLUSTER.postgres.user,
      });
    }
    expect(yaml.services.frontend?.rpc).toEqual({
      grpcPort: 27233,
      membershipPort: 26933,
      httpPort: 27243,
      bindOnLocalHost: true,
    });
    expect(Object.keys(yaml.services).sort()).toEqual(['frontend', 'history', 'matching', 'worker']);
    expect(yaml.clusterMetadata.clusterInformation.active.rpcAddress).toBe('127.0.0.1:27233');
    expect(yaml.dynamicConfigClient.filepath).toBe('/x/dc.yaml');
    expect(parse(uiConfigYaml({ frontend: 27233, postgres: 25432, ui: 28080 }))).toMatchObject({
      temporalGrpcAddress: '127.0.0.1:27233',
      port: 28080,
      defaultNamespace: CLUSTER.namespace,
    });
    expect(retentionMs()).toBe(72 * 3_600_000);
  });

  it('refuses bad ports before starting anything, naming the option and the rule', async () => {
    const run = async (...args: string[]) => {
      const program = buildProgram();
      program.commands.forEach((c) => c.exitOverride());
      return program.parseAsync(['node', 'longrun', 'cluster', 'up', ...args]).then(
        () => 'ok',
        (err: Error) => err.message
      );
    };
    expect(await run('--port', 'abc', '--dir', '/nonexistent/never')).toMatch(
      /--port: must be a whole number from 1024 to 65535 \(got "abc"\)/
    );
    expect(await run('--port', '40000', '--dir', '/nonexistent/never')).toMatch(
      /--port: must be from 1324 to 33061, as the server's other ports follow it \(got 40000\)/
    );
    expect(await run('--postgres-port', '80', '--dir', '/nonexistent/never')).toMatch(
      /--postgres-port: must be a whole number/
    );
    expect(await run('--ui-port', '-1', '--dir', '/nonexistent/never')).toMatch(
      /--ui-port: must be a whole number from 0 \(none\) or 1024 to 65535/
    );
  });
});
