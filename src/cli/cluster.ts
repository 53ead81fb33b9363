/**
 * `longrun cluster up|down|status`: a Temporal cluster on PostgreSQL as native processes (the
 * topology of docker-compose.yml), for work that outgrows the SQLite dev server.
 */
import { resolve } from 'node:path';
import { type Command } from 'commander';
import type { ClusterPorts } from '../cluster/server-config';
import type { ClusterStatus } from '../cluster/cluster';
import { ValidationError } from '../shared/validation';
import { EXIT } from '../runtime/exit-codes';
import { print, printJson } from './io';

interface PortOptions {
  dir?: string;
  port?: string;
  postgresPort?: string;
  uiPort?: string;
  ui?: boolean;
  json?: boolean;
}

function clusterDir(opts: PortOptions): string {
  const dataDir = process.env.LONGRUN_DATA_DIR ?? '.longrun';
  return resolve(opts.dir ?? process.env.LONGRUN_CLUSTER_DIR ?? resolve(dataDir, 'cluster'));
}

function port(value: string | undefined, option: string, allowZero = false): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < (allowZero ? 0 : 1024) || n > 65_535) {
    throw new ValidationError('cluster options', [
      {
        path: option,
        rule: `must be a whole number from ${allowZero ? '0 (none) or ' : ''}1024 to 65535 (got "${value}")`,
      },
    ]);
  }
  return n;
}

/** The ports the options ask for; `maxFrontend` from server-config (loaded only when a cluster command runs). */
function portsFrom(opts: PortOptions, maxFrontend: number): Partial<ClusterPorts> {
  const ports: Partial<ClusterPorts> = {};
  const frontend = port(opts.port, '--port');
  // The frontend's neighbours sit up to 300 below it (membership, which the server stores as a
  // smallint: at most 32767) and 767 above (metrics).
  if (frontend !== undefined && (frontend < 1324 || frontend > maxFrontend)) {
    throw new ValidationError('cluster options', [
      {
        path: '--port',
        rule: `must be from 1324 to ${maxFrontend}, as the server's other ports follow it (got ${frontend})`,
      },
    ]);
  }
  if (frontend !== undefined) ports.frontend = frontend;
  const pg = port(opts.postgresPort, '--postgres-port');
  if (pg !== undefined) ports.postgres = pg;
  const ui = opts.ui === false ? 0 : port(opts.uiPort, '--ui-port', true);
  if (ui !== undefined) ports.ui = ui;
  return ports;
}

export function statusText(s: ClusterStatus): string {
  const line = (
    name: string,
    c: { running: boolean; pid?: number; address?: string; log: string },
    at?: string
  ) =>
    `${name.padEnd(11)} ${c.running ? `running (pid ${c.pid})` : 'stopped'}${at ? `  ${at}` : ''}  log ${c.log}`;
  return [
    `cluster ${s.dir}`,
    line(`postgresql`, s.postgres, `${s.postgres.address} (PostgreSQL ${s.versions.postgres})`),
    line('temporal', s.temporal, `${s.address} (server ${s.versions.server}, namespace ${s.namespace})`),
    s.ui.url
      ? line('web ui', s.ui, `${s.ui.url} (ui-server ${s.versions.ui})`)
      : 'web ui      none (--no-ui)',
    ...(s.temporal.running ? [`workers and clients: TEMPORAL_ADDRESS=${s.address}`] : []),
    '',
  ].join('\n');
}

const allRunning = (s: ClusterStatus) =>
  s.postgres.running && s.temporal.running && (s.ui.url === undefined || s.ui.running);

export function addClusterCommands(program: Command): void {
  const cluster = program
    .command('cluster')
    .description('a Temporal cluster on PostgreSQL as local processes (docker-compose.yml without Docker)');
  const withDir = (c: Command) =>
    c.option('--dir <dir>', 'cluster folder (default: $LONGRUN_CLUSTER_DIR, else $LONGRUN_DATA_DIR/cluster)');

  withDir(cluster.command('up'))
    .description('start PostgreSQL, the Temporal server and the Web UI (first time: install, build, set up)')
    .option('--port <port>', "Temporal's frontend port; the server's other ports move with it (default 7233)")
    .option('--postgres-port <port>', "PostgreSQL's port (default 55432)")
    .option('--ui-port <port>', "the Web UI's port (default 8080)")
    .option('--no-ui', 'run no Web UI')
    .option('--json', 'print the status as JSON')
    .action(async (opts: PortOptions) => {
      const { MAX_FRONTEND_PORT } = await import('../cluster/server-config');
      const ports = portsFrom(opts, MAX_FRONTEND_PORT);
      const { clusterUp } = await import('../cluster/cluster');
      const status = await clusterUp({
        dir: clusterDir(opts),
        ports,
        say: (l) => process.stderr.write(`${l}\n`),
      });
      if (opts.json) printJson(status);
      else print(statusText(status));
    });

  withDir(cluster.command('status'))
    .description('say which parts of the cluster run, where, and their logs (exit 1 when one is stopped)')
    .option('--json', 'print the status as JSON')
    .action(async (opts: PortOptions) => {
      const { clusterStatus } = await import('../cluster/cluster');
      const status = await clusterStatus({ dir: clusterDir(opts) });
      if (opts.json) printJson(status);
      else print(statusText(status));
      process.exitCode = allRunning(status) ? EXIT.ok : EXIT.failure;
    });

  withDir(cluster.command('down'))
    .description('stop the Web UI, the Temporal server and PostgreSQL (tasks stay in the database)')
    .option('--purge', 'also delete the cluster folder: every task and its history')
    .action(async (opts: PortOptions & { purge?: boolean }) => {
      const { clusterDown } = await import('../cluster/cluster');
      await clusterDown({ dir: clusterDir(opts), purge: opts.purge === true });
      print(`cluster ${clusterDir(opts)} stopped${opts.purge ? ' and deleted' : ''}\n`);
    });
}
