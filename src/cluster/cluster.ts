/**
 * A Temporal cluster of native processes, the topology of docker-compose.yml without Docker:
 * PostgreSQL, the Temporal server (all services in one process) with its schema set up, the
 * `default` namespace with longrun's search attributes, and the Web UI. Each runs detached with a pid
 * and a log file in the cluster folder, so `up`, `status` and `down` can be separate commands.
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import Long from 'long';
import { ensureSearchAttributes } from '../runtime/namespace';
import { commandLine, isAlive, portOpen } from '../runtime/processes';
import { PACKAGE_ROOT } from '../dev/temporal-cli';
import {
  initPostgres,
  postgresBin,
  postgresPid,
  postgresRunning,
  startPostgres,
  stopPostgres,
} from './postgres';
import {
  allPorts,
  dynamicConfigYaml,
  serverConfigYaml,
  uiConfigYaml,
  type ClusterPorts,
} from './server-config';
import { CLUSTER, retentionMs, TEMPORAL_VERSIONS } from './topology';

export interface ClusterOptions {
  /** The cluster's folder: database, configuration, pid and log files. */
  dir: string;
  /** Ports for a new cluster, or to move an existing one; unset: the saved ones, else the defaults. */
  ports?: Partial<ClusterPorts>;
  /** Progress lines (builds, installs, each component up). */
  say?: (line: string) => void;
}

export const DEFAULT_PORTS: ClusterPorts = {
  frontend: CLUSTER.frontendPort,
  postgres: 55432,
  ui: CLUSTER.uiPort,
};

export interface ComponentStatus {
  running: boolean;
  pid?: number;
  address?: string;
  log: string;
}

export interface ClusterStatus {
  dir: string;
  versions: { server: string; ui: string; postgres: string };
  namespace: string;
  /** The address workers and clients use (TEMPORAL_ADDRESS). */
  address: string;
  postgres: ComponentStatus;
  temporal: ComponentStatus;
  ui: ComponentStatus & { url?: string };
}

/** Where everything of one cluster lives. */
function layout(dir: string) {
  return {
    state: join(dir, 'cluster.json'),
    pg: { dataDir: join(dir, 'postgres'), logFile: join(dir, 'postgres.log') },
    temporalRoot: join(dir, 'temporal'),
    temporalPid: join(dir, 'temporal.pid'),
    temporalLog: join(dir, 'temporal.log'),
    uiRoot: join(dir, 'ui'),
    uiPid: join(dir, 'ui.pid'),
    uiLog: join(dir, 'ui.log'),
  };
}
type Layout = ReturnType<typeof layout>;

function savedPorts(l: Layout): ClusterPorts | undefined {
  return existsSync(l.state)
    ? (JSON.parse(readFileSync(l.state, 'utf8')) as { ports: ClusterPorts }).ports
    : undefined;
}

function portsOf(opts: ClusterOptions): ClusterPorts {
  return { ...DEFAULT_PORTS, ...savedPorts(layout(opts.dir)), ...opts.ports };
}

/** The folder of a provisioned tool ("server" or "ui"), built with Go on first use. */
function toolDir(name: 'server' | 'ui', say: (line: string) => void): string {
  const script = join(PACKAGE_ROOT, 'scripts', 'provision-temporal.mjs');
  const r = spawnSync(process.execPath, [script, name], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const line of r.stderr.trim().split('\n').filter(Boolean)) say(line);
  const dir = r.stdout.trim().split('\n').pop();
  if (r.status !== 0 || !dir) throw new Error(`could not provision the Temporal ${name}: ${r.stderr.trim()}`);
  return dir;
}

/** The pid in `file` when that process lives and its command line names `marker` (no reused pids). */
function livePid(file: string, marker: string): number | undefined {
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return undefined;
  return commandLine(pid)?.includes(marker) ? pid : undefined;
}

function spawnDetached(bin: string, args: string[], logFile: string, pidFile: string): number {
  const fd = openSync(logFile, 'a');
  const child = spawn(bin, args, { detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`could not start ${bin}`);
  child.unref();
  writeFileSync(pidFile, String(child.pid));
  return child.pid;
}

async function refuseBusyPorts(ports: number[], what: string): Promise<void> {
  for (const port of ports) {
    if (await portOpen('127.0.0.1', port)) {
      throw new Error(
        `port ${port}, which the ${what} needs, is in use: stop what listens there or move the cluster ` +
          '(`longrun cluster up --port N` moves all Temporal ports by the same step; --postgres-port, --ui-port)'
      );
    }
  }
}

/** The last lines of the server's log, each JSON entry as "level: msg: error" (no stack traces). */
function logTail(logFile: string): string {
  return readFileSync(logFile, 'utf8')
    .trim()
    .split('\n')
    .slice(-6)
    .map((line) => {
      try {
        const e = JSON.parse(line) as { level?: string; msg?: string; error?: string };
        return `${e.level}: ${e.msg}${e.error ? `: ${e.error}` : ''}`;
      } catch {
        return line;
      }
    })
    .join('\n');
}

/** Connects once the frontend answers, within `timeoutMs`; says where the log is when it does not. */
async function connectWhenUp(
  address: string,
  logFile: string,
  pid: number,
  timeoutMs: number
): Promise<Connection> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) {
      throw new Error(`the Temporal server exited while starting (log ${logFile}):\n${logTail(logFile)}`);
    }
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      await connection.workflowService.getSystemInfo({});
      return connection;
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  throw new Error(
    `the Temporal server did not answer at ${address} within ${timeoutMs} ms (log ${logFile}): ${String(last)}`
  );
}

/** The namespace with its retention and longrun's search attributes, added where missing. */
async function ensureNamespace(connection: Connection): Promise<void> {
  const namespace = CLUSTER.namespace;
  try {
    await connection.workflowService.describeNamespace({ namespace });
  } catch {
    await connection.workflowService.registerNamespace({
      namespace,
      workflowExecutionRetentionPeriod: { seconds: Long.fromNumber(retentionMs() / 1000) },
    });
  }
  // A namespace registered a moment ago takes a few seconds to reach the frontend's cache.
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await ensureSearchAttributes(connection, namespace);
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/** Sets up the two databases' schemas (idempotent: the tool skips versions already applied). */
function setupSchemas(serverDir: string, ports: ClusterPorts): void {
  const tool = join(serverDir, 'temporal-sql-tool');
  const { user, password } = CLUSTER.postgres;
  const base = [
    '--plugin',
    CLUSTER.sqlPlugin,
    '--ep',
    '127.0.0.1',
    '-p',
    String(ports.postgres),
    '-u',
    user,
    '--pw',
    password,
  ];
  for (const db of CLUSTER.databases) {
    for (const args of [
      ['create-database'],
      ['setup-schema', '-v', '0.0'],
      ['update-schema', '--schema-name', db.schema],
    ]) {
      const r = spawnSync(tool, [...base, '--db', db.name, ...args], { encoding: 'utf8' });
      if (r.status !== 0) {
        throw new Error(
          `temporal-sql-tool ${args[0]} on ${db.name} failed:\n${`${r.stdout}${r.stderr}`.trim().split('\n').slice(-5).join('\n')}`
        );
      }
    }
  }
}

/** Starts the Temporal server (config rewritten from the ports) and waits until it answers. */
export async function startTemporal(opts: ClusterOptions, timeoutMs = 60_000): Promise<number> {
  const l = layout(opts.dir);
  const ports = portsOf(opts);
  const running = livePid(l.temporalPid, l.temporalRoot);
  if (running) return running;
  const serverDir = toolDir('server', opts.say ?? (() => {}));
  await refuseBusyPorts(
    allPorts({ ...ports, ui: 0 }).filter((p) => p !== ports.postgres),
    'Temporal server'
  );
  const configDir = join(l.temporalRoot, 'config');
  mkdirSync(configDir, { recursive: true });
  const dynamic = join(configDir, 'dynamicconfig.yaml');
  writeFileSync(dynamic, dynamicConfigYaml());
  writeFileSync(join(configDir, 'development.yaml'), serverConfigYaml(ports, dynamic));
  const args = [
    '--root',
    l.temporalRoot,
    '--config',
    'config',
    '--env',
    'development',
    '--allow-no-auth',
    'start',
  ];
  const pid = spawnDetached(join(serverDir, 'temporal-server'), args, l.temporalLog, l.temporalPid);
  const connection = await connectWhenUp(`127.0.0.1:${ports.frontend}`, l.temporalLog, pid, timeoutMs);
  await connection.close();
  return pid;
}

/** Stops the Temporal server: SIGTERM (drains) and SIGKILL after `graceMs`, or SIGKILL at once. */
export async function stopTemporal(
  opts: ClusterOptions,
  signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM',
  graceMs = 15_000
): Promise<void> {
  const l = layout(opts.dir);
  await stopProcess(livePid(l.temporalPid, l.temporalRoot), signal, graceMs);
  rmSync(l.temporalPid, { force: true });
}

async function stopProcess(pid: number | undefined, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  if (pid === undefined) return;
  process.kill(pid, signal);
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  while (isAlive(pid)) await new Promise((r) => setTimeout(r, 50));
}

/** Restarts PostgreSQL ("fast": its clients' connections are cut, as in a failover). */
export function restartPostgres(opts: ClusterOptions, mode: 'fast' | 'immediate' = 'fast'): void {
  const l = layout(opts.dir);
  const bin = postgresBin(opts.say);
  stopPostgres(bin, l.pg, mode);
  startPostgres(bin, l.pg, portsOf(opts).postgres);
}

async function startUi(opts: ClusterOptions, ports: ClusterPorts): Promise<void> {
  const l = layout(opts.dir);
  if (ports.ui === 0 || livePid(l.uiPid, l.uiRoot)) return;
  const uiDir = toolDir('ui', opts.say ?? (() => {}));
  await refuseBusyPorts([ports.ui], 'Web UI');
  mkdirSync(join(l.uiRoot, 'config'), { recursive: true });
  writeFileSync(join(l.uiRoot, 'config', 'development.yaml'), uiConfigYaml(ports));
  spawnDetached(
    join(uiDir, 'temporal-ui-server'),
    ['--root', l.uiRoot, '--config', 'config', '--env', 'development', 'start'],
    l.uiLog,
    l.uiPid
  );
  const deadline = Date.now() + 30_000;
  while (!(await portOpen('127.0.0.1', ports.ui))) {
    if (Date.now() > deadline)
      throw new Error(`the Web UI did not listen on ${ports.ui} within 30 s (log ${l.uiLog})`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Starts whatever of the cluster is not running (first time: installs, builds, creates, sets up). */
export async function clusterUp(opts: ClusterOptions): Promise<ClusterStatus> {
  const say = opts.say ?? (() => {});
  const l = layout(opts.dir);
  const ports = portsOf(opts);
  mkdirSync(opts.dir, { recursive: true });
  const bin = postgresBin(say);
  if (!postgresRunning(bin, l.pg)) {
    initPostgres(bin, l.pg);
    await refuseBusyPorts([ports.postgres], 'PostgreSQL server');
    startPostgres(bin, l.pg, ports.postgres);
    say(`PostgreSQL listening on 127.0.0.1:${ports.postgres}`);
  }
  setupSchemas(toolDir('server', say), ports);
  writeFileSync(
    l.state,
    JSON.stringify({ ports, versions: TEMPORAL_VERSIONS, updatedAt: new Date().toISOString() }, null, 2)
  );
  await startTemporal(opts);
  const connection = await Connection.connect({ address: `127.0.0.1:${ports.frontend}` });
  try {
    await ensureNamespace(connection);
  } finally {
    await connection.close();
  }
  say(`Temporal ${TEMPORAL_VERSIONS.server} on 127.0.0.1:${ports.frontend}, namespace ${CLUSTER.namespace}`);
  await startUi(opts, ports);
  return clusterStatus(opts);
}

/** Stops the UI, the server and PostgreSQL; `purge` also deletes the folder (all tasks' histories). */
export async function clusterDown(opts: ClusterOptions & { purge?: boolean }): Promise<void> {
  const l = layout(opts.dir);
  await stopProcess(livePid(l.uiPid, l.uiRoot), 'SIGTERM', 5_000);
  rmSync(l.uiPid, { force: true });
  await stopTemporal(opts);
  if (existsSync(l.pg.dataDir)) stopPostgres(postgresBin(opts.say), l.pg);
  if (opts.purge) rmSync(opts.dir, { recursive: true, force: true });
}

export async function clusterStatus(opts: ClusterOptions): Promise<ClusterStatus> {
  const l = layout(opts.dir);
  const ports = portsOf(opts);
  const pgVersionFile = join(l.pg.dataDir, 'PG_VERSION');
  const pgUp = existsSync(l.pg.dataDir) && postgresRunning(postgresBin(), l.pg);
  const temporalPid = livePid(l.temporalPid, l.temporalRoot);
  const uiPid = livePid(l.uiPid, l.uiRoot);
  const address = `127.0.0.1:${ports.frontend}`;
  return {
    dir: opts.dir,
    versions: {
      server: TEMPORAL_VERSIONS.server,
      ui: TEMPORAL_VERSIONS.ui,
      postgres: existsSync(pgVersionFile) ? readFileSync(pgVersionFile, 'utf8').trim() : 'not created',
    },
    namespace: CLUSTER.namespace,
    address,
    postgres: {
      running: pgUp,
      pid: pgUp ? postgresPid(l.pg) : undefined,
      address: `127.0.0.1:${ports.postgres}`,
      log: l.pg.logFile,
    },
    temporal: {
      running: temporalPid !== undefined && (await portOpen('127.0.0.1', ports.frontend)),
      pid: temporalPid,
      address,
      log: l.temporalLog,
    },
    ui: {
      running: uiPid !== undefined,
      pid: uiPid,
      url: ports.ui > 0 ? `http://127.0.0.1:${ports.ui}` : undefined,
      log: l.uiLog,
    },
  };
}
