import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { ensureSearchAttributes } from '../runtime/namespace';
import { LONGRUN_SEARCH_ATTRIBUTES } from '../shared/search-attributes';

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

function portOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const socket = createConnection({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolvePromise(true);
    });
    socket.once('error', () => resolvePromise(false));
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Kills a dev server left behind by a crashed `longrun dev` on the same database (Linux /proc check). */
function stopStaleServer(pidFile: string, dbFile: string): void {
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  rmSync(pidFile, { force: true });
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return;
  const cmdline = existsSync(`/proc/${pid}/cmdline`) ? readFileSync(`/proc/${pid}/cmdline`, 'utf8') : '';
  if (cmdline.includes('start-dev') && cmdline.includes(dbFile)) process.kill(pid, 'SIGKILL');
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

/**
 * Starts `temporal server start-dev` on a SQLite file in `dataDir`, in its own process group so that a
 * Ctrl-C in the terminal reaches longrun first (which drains its worker, then stops the server).
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
  stopStaleServer(pidFile, dbFile);
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
    ...LONGRUN_SEARCH_ATTRIBUTES.flatMap((key) => ['--search-attribute', `${key.name}=${searchAttributeFlagType(key.type)}`]),
    ...Object.entries(opts.dynamicConfig ?? {}).flatMap(([k, v]) => ['--dynamic-config-value', `${k}=${JSON.stringify(v)}`]),
  ]; // prettier-ignore
  const logFd = openSync(logFile, 'a');
  const child = spawn(opts.cliPath, args, { detached: true, stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  if (child.pid === undefined) throw new Error(`could not start ${opts.cliPath}`);
  writeFileSync(pidFile, String(child.pid));
  const address = `${ip}:${port}`;
  let connection: Connection;
  try {
    connection = await waitForServer(address, namespace, child, opts.startTimeoutMs ?? 60_000, logFile);
    await ensureSearchAttributes(connection, namespace);
    await connection.close();
  } catch (err) {
    child.kill('SIGKILL');
    rmSync(pidFile, { force: true });
    throw err;
  }
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    address,
    namespace,
    uiUrl: uiPort > 0 ? `http://localhost:${uiPort}` : undefined,
    dbFile,
    logFile,
    pid: child.pid,
    async stop(graceMs = 10_000) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
      rmSync(pidFile, { force: true });
    },
  };
}

function searchAttributeFlagType(type: string): string {
  return type === 'KEYWORD_LIST' ? 'KeywordList' : type.charAt(0) + type.slice(1).toLowerCase();
}
