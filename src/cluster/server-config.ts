/**
 * The native cluster's configuration files, rendered from its ports: the Temporal server's
 * (all four services in one process, on PostgreSQL), its dynamic config, and the Web UI server's.
 * Pure functions; cluster.ts writes them.
 */
import { CLUSTER } from './topology';

export interface ClusterPorts {
  /** Temporal's frontend (gRPC); the other services' ports follow Temporal's defaults shifted alike. */
  frontend: number;
  postgres: number;
  /** The Web UI; 0 runs none. */
  ui: number;
}

/**
 * Every port the server listens on: Temporal's defaults (7233 frontend, 7234 history, 7235 matching,
 * 7239 worker, 6933-6939 membership, 7243 HTTP, 8000 metrics) shifted by `frontend - 7233`.
 */
export function serverPorts(frontend: number) {
  const shift = frontend - 7233;
  const at = (port: number) => port + shift;
  return {
    frontend: { grpc: at(7233), membership: at(6933), http: at(7243) },
    history: { grpc: at(7234), membership: at(6934) },
    matching: { grpc: at(7235), membership: at(6935) },
    worker: { grpc: at(7239), membership: at(6939) },
    metrics: at(8000),
  };
}

/** Membership ports (frontend - 300 to - 294) are stored as a PostgreSQL smallint: at most 32767. */
export const MAX_FRONTEND_PORT = 32_767 + 294;

/** All the ports a cluster with these settings needs free. */
export function allPorts(ports: ClusterPorts): number[] {
  const s = serverPorts(ports.frontend);
  return [
    ports.postgres,
    ...[s.frontend, s.history, s.matching, s.worker].flatMap((svc) => Object.values(svc)),
    s.metrics,
    ...(ports.ui > 0 ? [ports.ui] : []),
  ];
}

function datastore(database: string, port: number, maxConns: number): string[] {
  return [
    '      sql:',
    `        pluginName: ${CLUSTER.sqlPlugin}`,
    `        databaseName: ${database}`,
    `        connectAddr: "127.0.0.1:${port}"`,
    '        connectProtocol: tcp',
    `        user: ${CLUSTER.postgres.user}`,
    `        password: ${CLUSTER.postgres.password}`,
    `        maxConns: ${maxConns}`,
    `        maxIdleConns: ${maxConns}`,
    '        maxConnLifetime: 1h',
  ];
}

/** The server's config/development.yaml (1.29 reads `--root R --config config --env development`). */
export function serverConfigYaml(ports: ClusterPorts, dynamicConfigFile: string): string {
  const s = serverPorts(ports.frontend);
  const service = (name: string, rpc: Record<string, number>) => [
    `  ${name}:`,
    '    rpc:',
    ...Object.entries(rpc).map(([k, v]) => `      ${k === 'grpc' ? 'grpcPort' : `${k}Port`}: ${v}`),
    '      bindOnLocalHost: true',
  ];
  const [main, visibility] = CLUSTER.databases;
  return [
    '# Written by `longrun cluster up` from src/cluster/topology.ts; rewritten on every start.',
    'log:',
    '  stdout: true',
    '  level: warn',
    'persistence:',
    '  defaultStore: default',
    '  visibilityStore: visibility',
    `  numHistoryShards: ${CLUSTER.numHistoryShards}`,
    '  datastores:',
    '    default:',
    ...datastore(main.name, ports.postgres, 20),
    '    visibility:',
    ...datastore(visibility.name, ports.postgres, 10),
    'global:',
    '  membership:',
    '    maxJoinDuration: 30s',
    '    broadcastAddress: "127.0.0.1"',
    '  metrics:',
    '    prometheus:',
    '      framework: tally',
    '      timerType: histogram',
    `      listenAddress: "127.0.0.1:${s.metrics}"`,
    'services:',
    ...service('frontend', s.frontend),
    ...service('history', s.history),
    ...service('matching', s.matching),
    ...service('worker', s.worker),
    'clusterMetadata:',
    '  enableGlobalNamespace: false',
    '  failoverVersionIncrement: 10',
    '  masterClusterName: active',
    '  currentClusterName: active',
    '  clusterInformation:',
    '    active:',
    '      enabled: true',
    '      initialFailoverVersion: 1',
    '      rpcName: frontend',
    `      rpcAddress: "127.0.0.1:${s.frontend.grpc}"`,
    'dcRedirectionPolicy:',
    '  policy: noop',
    'dynamicConfigClient:',
    `  filepath: ${JSON.stringify(dynamicConfigFile)}`,
    '  pollInterval: 10s',
    '',
  ].join('\n');
}

/**
 * Dynamic config: search attributes registered a moment ago are usable at once (as on the dev
 * server), which `longrun cluster up` and the tests that follow it rely on.
 */
export function dynamicConfigYaml(): string {
  return ['system.forceSearchAttributesCacheRefreshOnRead:', '  - value: true', ''].join('\n');
}

/** The UI server's config/development.yaml. */
export function uiConfigYaml(ports: ClusterPorts): string {
  return [
    '# Written by `longrun cluster up`; rewritten on every start.',
    `temporalGrpcAddress: "127.0.0.1:${ports.frontend}"`,
    'host: 127.0.0.1',
    `port: ${ports.ui}`,
    'enableUi: true',
    `defaultNamespace: ${CLUSTER.namespace}`,
    'cors:',
    '  cookieInsecure: true',
    '',
  ].join('\n');
}
