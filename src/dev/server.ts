import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { ensureSearchAttributes } from '../runtime/namespace';
import { commandLine, isAlive, portOpen } from '../runtime/processes';
import { PACKAGE_ROOT } from './temporal-cli';
import { cliTypeName, LONGRUN_SEARCH_ATTRIBUTES } from '../shared/search-attributes';

export interface DevServerOptions {
  /** Path of the `temporal` CLI binary. */
  cliPath: string;
  /** Folder for the SQLite database, log and pid file. */
  dataDir: string;
  /** @default 7233 */
  port?: number;
  /** Web UI port; 0 runs headless. @default 8233 */
  uiPort?: number;
  /** @default "default" */
  namespace?: string;
  /** @default "127.0.0.1" */
  ip?: string;
  /** Extra `--dynamic-config-value K=V` settings. */
  dynamicConfig?: Record<string, unknown>;
  /** How long to wait for the server to answer, in ms. @default 60000 */
  startTimeoutMs?: number;
}

export interface DevServer {
  address: string;
  namespace: string;
  /** Web UI base URL, or undefined when headless. */
  uiUrl: string | undefined;
  dbFile: string;
  logFile: string;
  pid: number;
  /** Stops the server (SIGTERM, then SIGKILL after `graceMs`). */
  stop(graceMs?: number): Promise<void>;
}

/** Who runs the dev server of a data folder: the process that started it, while it lives. */
interface DevServerOwner {
  pid: number;
  port: number;
  startedAt: string;
}

function liveOwner(ownerFile: string): DevServerOwner | undefined {
  if (!existsSync(ownerFile)) return undefined;
  try {
    const owner = JSON.parse(readFileSync(ownerFile, 'utf8')) as DevServerOwner;
    if (!Number.isInteger(owner.pid) || owner.pid === process.pid || !isAlive(owner.pid)) return undefined;
    // A reused pid is not the owner: owners are Node processes.
    const cmdline = commandLine(owner.pid);
    return cmdline === undefined || cmdline.includes('node') ? owner : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Stops a dev server left behind on the same database by an earlier `longrun dev` that is gone (its
 * guard was killed too): only a process whose command line names this database (Linux /proc check).
 */
async function stopStaleServer(pidFile: string, dbFile: string, ip: string, port: number): Promise<void> {
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  rmSync(pidFile, { force: true });
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return;
  const cmdline = commandLine(pid) ?? '';
  if (!cmdline.includes('start-dev') || !cmdline.includes(dbFile)) return;
  process.kill(pid, 'SIGKILL');
  const deadline = Date.now() + 5_000;
  while ((isAlive(pid) || (await portOpen(ip, port))) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function waitForServer(
  address: string,
  namespace: string,
  child: ChildProcess,
  timeoutMs: number,
  logFile: string
): Promise<Connection> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const tail = readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n');
      throw new Error(
        `the Temporal dev server exited (${child.exitCode ?? child.signalCode}) while starting:\n${tail}`
      );
    }
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      await connection.workflowService.describeNamespace({ namespace });
      return connection;
    } catch (err) {
      lastError = err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  throw new Error(
    `the Temporal dev server did not answer at ${address} within ${timeoutMs} ms: ${String(lastError)}`
  );
}

/** The guard that stops the server when this process dies (built: dist/dev/guard.js). */
const GUARD = join(PACKAGE_ROOT, 'dist', 'dev', 'guard.js');

/**
 * Starts `temporal server start-dev` on a SQLite file in `dataDir`, under a guard process that stops
 * it when this process is gone (even SIGKILLed), in their own process group so that a Ctrl-C in the
 * terminal reaches longrun first (which drains its worker, then stops the server). A second start on
 * the same folder while its owner lives is refused; a server its dead owner left behind is replaced.
 */
export async function startDevServer(opts: DevServerOptions): Promise<DevServer> {
  const ip = opts.ip ?? '127.0.0.1';
  const port = opts.port ?? 7233;
  const uiPort = opts.uiPort ?? 8233;
  const namespace = opts.namespace ?? 'default';
  mkdirSync(opts.dataDir, { recursive: true });
  const dbFile = join(opts.dataDir, 'temporal.db');
  const logFile = join(opts.dataDir, 'dev-server.log');
  const pidFile = join(opts.dataDir, 'dev-server.pid');
  const ownerFile = join(opts.dataDir, 'dev-owner.json');
  const owner = liveOwner(ownerFile);
  if (owner) {
    throw new Error(
      `another longrun dev (pid ${owner.pid}, since ${owner.startedAt}) runs the dev server of ` +
        `${opts.dataDir} on port ${owner.port}: stop it (kill -INT ${owner.pid}), or give this one its ` +
        'own LONGRUN_DATA_DIR and LONGRUN_DEV_PORT'
    );
  }
  await stopStaleServer(pidFile, dbFile, ip, port);
  if (await portOpen(ip, port)) {
    throw new Error(
      `port ${port} on ${ip} is already in use. Stop what listens there, choose another port with ` +
        `LONGRUN_DEV_PORT, or use that server by setting TEMPORAL_ADDRESS=${ip}:${port}.`
    );
  }
  const args = [
    'server', 'start-dev',
    '--ip', ip,
    '--port', String(port),
    '--namespace', namespace,
    '--db-filename', dbFile,
    '--log-level', 'warn',
    ...(uiPort > 0 ? ['--ui-port', String(uiPort)] : ['--headless']),
    ...LONGRUN_SEARCH_ATTRIBUTES.flatMap((key) => ['--search-attribute', `${key.name}=${cliTypeName(key.type)}`]),
    ...Object.entries(opts.dynamicConfig ?? {}).flatMap(([k, v]) => ['--dynamic-config-value', `${k}=${JSON.stringify(v)}`]),
  ]; // prettier-ignore
  const logFd = openSync(logFile, 'a');
  // Without a build (sources run directly) there is no guard: the server is started as before.
  const guarded = existsSync(GUARD);
  const child = guarded
    ? spawn(process.execPath, [GUARD, pidFile, opts.cliPath, ...args], {
        detached: true,
        stdio: ['pipe', logFd, logFd],
      })
    : spawn(opts.cliPath, args, { detached: true, stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  if (child.pid === undefined) throw new Error(`could not start ${opts.cliPath}`);
  if (!guarded) writeFileSync(pidFile, String(child.pid));
  writeFileSync(
    ownerFile,
    JSON.stringify({ pid: process.pid, port, startedAt: new Date().toISOString() } satisfies DevServerOwner)
  );
  const serverPid = (): number | undefined => {
    const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) : NaN;
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  };
  const killAll = () => {
    const pid = serverPid();
    if (pid !== undefined && isAlive(pid)) process.kill(pid, 'SIGKILL');
    child.kill('SIGKILL');
  };
  const address = `${ip}:${port}`;
  let connection: Connection;
  try {
    connection = await waitForServer(address, namespace, child, opts.startTimeoutMs ?? 60_000, logFile);
    await ensureSearchAttributes(connection, namespace);
    await connection.close();
  } catch (err) {
    killAll();
    rmSync(pidFile, { force: true });
    rmSync(ownerFile, { force: true });
    throw err;
  }
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    address,
    namespace,
    uiUrl: uiPort > 0 ? `http://localhost:${uiPort}` : undefined,
    dbFile,
    logFile,
    pid: serverPid() ?? child.pid,
    async stop(graceMs = 10_000) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(killAll, graceMs);
        await exited;
        clearTimeout(timer);
      }
      rmSync(pidFile, { force: true });
      rmSync(ownerFile, { force: true });
    },
  };
}
