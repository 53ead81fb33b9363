/**
 * The cluster's PostgreSQL: Debian's package, a database folder of its own under the cluster folder,
 * listening on loopback TCP only (Temporal connects over TCP; no Unix socket to clash with a system
 * server). PostgreSQL refuses to run as root, so as root every command runs as the `postgres` user the
 * package creates, and the folders it writes are handed to that user.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { CLUSTER } from './topology';

export interface PostgresPaths {
  /** The database folder (PGDATA). */
  dataDir: string;
  logFile: string;
}

const isRoot = (): boolean => process.getuid?.() === 0;

function run(command: string, args: string[], input?: string): SpawnSyncReturns<string> {
  return spawnSync(command, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
}

/** Runs a PostgreSQL program, as the `postgres` user when this process is root. */
function runPg(bin: string, program: string, args: string[]): SpawnSyncReturns<string> {
  const path = join(bin, program);
  return isRoot() ? run('runuser', ['-u', 'postgres', '--', path, ...args]) : run(path, args);
}

function highestVersionBin(): string | undefined {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const versions = readdirSync(base)
    .filter((v) => /^\d+$/.test(v) && existsSync(join(base, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(base, versions[0], 'bin');
}

function pgConfigBin(): string | undefined {
  const r = run('pg_config', ['--bindir']);
  const dir = r.status === 0 ? r.stdout.trim() : '';
  return dir && existsSync(join(dir, 'initdb')) ? dir : undefined;
}

/** Installs Debian's PostgreSQL package, where this is a Debian machine and we may (root). */
function installPostgres(say: (line: string) => void): void {
  if (!isRoot() || run('apt-get', ['--version']).status !== 0) {
    throw new Error(
      'PostgreSQL is not installed and longrun cannot install it here (that needs root and apt-get). ' +
        'Install it (Debian/Ubuntu: apt-get install postgresql) or set LONGRUN_POSTGRES_BIN to the ' +
        'folder that holds initdb and pg_ctl.'
    );
  }
  say('installing PostgreSQL with apt-get (first run on this machine only)');
  for (const args of [['update'], ['install', '-y', '--no-install-recommends', 'postgresql']]) {
    const r = spawnSync('apt-get', args, {
      stdio: ['ignore', 'ignore', 'pipe'],
      encoding: 'utf8',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    if (r.status !== 0) throw new Error(`apt-get ${args.join(' ')} failed: ${r.stderr.trim()}`);
  }
}

/**
 * The folder of PostgreSQL's programs: $LONGRUN_POSTGRES_BIN, Debian's newest /usr/lib/postgresql/N,
 * `pg_config --bindir`; installs the package where none is found and it can.
 */
export function postgresBin(say: (line: string) => void = () => {}): string {
  const fromEnv = process.env.LONGRUN_POSTGRES_BIN;
  if (fromEnv) {
    if (!existsSync(join(fromEnv, 'initdb'))) {
      throw new Error(`LONGRUN_POSTGRES_BIN=${fromEnv} must be a folder holding initdb and pg_ctl`);
    }
    return fromEnv;
  }
  const found = highestVersionBin() ?? pgConfigBin();
  if (found) return found;
  installPostgres(say);
  const installed = highestVersionBin();
  if (!installed)
    throw new Error('apt-get installed postgresql but no /usr/lib/postgresql/N/bin/initdb appeared');
  return installed;
}

/** Gives a folder or file to the `postgres` user when we are root (PostgreSQL runs as that user). */
function handOver(path: string): void {
  if (!isRoot()) return;
  const id = run('id', ['-u', 'postgres']);
  const gid = run('id', ['-g', 'postgres']);
  if (id.status !== 0) throw new Error('running as root needs the `postgres` user (the package creates it)');
  chownSync(path, Number(id.stdout.trim()), Number(gid.stdout.trim()));
}

function failed(what: string, r: SpawnSyncReturns<string>): Error {
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-10).join('\n');
  return new Error(`${what} failed (exit ${r.status ?? r.signal}):\n${out}`);
}

/**
 * As root, the `postgres` user must reach the cluster folder: it gets o+x (enter, not list), and a
 * folder above it that user cannot enter is named in the error.
 */
function ensureReachable(folder: string): void {
  if (!isRoot()) return;
  chmodSync(folder, statSync(folder).mode | 0o001);
  if (run('runuser', ['-u', 'postgres', '--', 'test', '-x', folder]).status !== 0) {
    throw new Error(
      `the postgres user cannot enter ${folder} (PostgreSQL runs as that user, not root): give the ` +
        'folders above it o+x, or put the cluster elsewhere (--dir, LONGRUN_CLUSTER_DIR)'
    );
  }
}

/** Creates the database folder once: the `temporal` superuser with a password, TCP on loopback only. */
export function initPostgres(bin: string, paths: PostgresPaths): void {
  if (existsSync(join(paths.dataDir, 'PG_VERSION'))) return;
  ensureReachable(dirname(paths.dataDir));
  rmSync(paths.dataDir, { recursive: true, force: true });
  mkdirSync(paths.dataDir, { recursive: true, mode: 0o700 });
  handOver(paths.dataDir);
  const pwFile = join(paths.dataDir, '..', '.pgpass-init');
  writeFileSync(pwFile, `${CLUSTER.postgres.password}\n`, { mode: 0o600 });
  handOver(pwFile);
  try {
    const r = runPg(bin, 'initdb', [
      '-D', paths.dataDir,
      '-U', CLUSTER.postgres.user,
      `--pwfile=${pwFile}`,
      '--auth-host=scram-sha-256',
      '--auth-local=peer',
      '-E', 'UTF8',
      '--locale=C',
    ]); // prettier-ignore
    if (r.status !== 0) throw failed('initdb', r);
  } finally {
    rmSync(pwFile, { force: true });
  }
  // Loopback TCP only; enough connections for the server's pools (persistence and visibility per
  // service, a few hundred at most) and pgbench beside them.
  writeFileSync(
    join(paths.dataDir, 'postgresql.auto.conf'),
    ["listen_addresses = '127.0.0.1'", "unix_socket_directories = ''", 'max_connections = 300', ''].join('\n')
  );
  handOver(join(paths.dataDir, 'postgresql.auto.conf'));
}

export function postgresRunning(bin: string, paths: PostgresPaths): boolean {
  return (
    existsSync(join(paths.dataDir, 'postmaster.pid')) &&
    runPg(bin, 'pg_ctl', ['status', '-D', paths.dataDir]).status === 0
  );
}

/** Starts PostgreSQL on `port` and waits until it accepts connections. */
export function startPostgres(bin: string, paths: PostgresPaths, port: number): void {
  if (postgresRunning(bin, paths)) return;
  if (!existsSync(paths.logFile)) writeFileSync(paths.logFile, '');
  handOver(paths.logFile);
  const r = runPg(bin, 'pg_ctl', [
    'start',
    '-D',
    paths.dataDir,
    '-l',
    paths.logFile,
    '-w',
    '-t',
    '60',
    '-o',
    `-p ${port}`,
  ]);
  if (r.status !== 0) throw failed(`pg_ctl start (see ${paths.logFile})`, r);
}

/** Stops PostgreSQL: "fast" rolls back open transactions and closes connections, "immediate" aborts. */
export function stopPostgres(bin: string, paths: PostgresPaths, mode: 'fast' | 'immediate' = 'fast'): void {
  if (!postgresRunning(bin, paths)) return;
  const r = runPg(bin, 'pg_ctl', ['stop', '-D', paths.dataDir, '-m', mode, '-w', '-t', '60']);
  if (r.status !== 0) throw failed('pg_ctl stop', r);
}

/** The pid of the running postmaster, from its pid file. */
export function postgresPid(paths: PostgresPaths): number | undefined {
  const file = join(paths.dataDir, 'postmaster.pid');
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').split('\n')[0]);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}
