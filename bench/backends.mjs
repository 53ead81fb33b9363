// The Temporal servers a benchmark runs on, started the way users start them: the SQLite dev server
// (`longrun dev`'s) or the native cluster on PostgreSQL (`longrun cluster up`), each in a folder of
// its own on free ports. Both report their processes' CPU time (Linux /proc); the cluster also reports
// PostgreSQL's (the postmaster and every backend) and its commit count, and can run pgbench on the
// same disk as the physical reference.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { freePort } from './support.mjs';

const require = createRequire(import.meta.url);

/** CPU seconds a process has used so far (utime + stime), or null once it is gone. */
export function cpuSecondsOf(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // clock ticks, 100 per second
  } catch {
    return null;
  }
}

/** A process and its children's CPU seconds (PostgreSQL runs a process per connection). */
function treeCpuSeconds(root) {
  const parents = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const fields = readFileSync(`/proc/${name}/stat`, 'utf8').split(') ')[1].split(' ');
      parents.set(Number(name), Number(fields[1]));
    } catch {
      // gone meanwhile
    }
  }
  let total = 0;
  const stack = [root];
  while (stack.length) {
    const pid = stack.pop();
    total += cpuSecondsOf(pid) ?? 0;
    for (const [child, parent] of parents) if (parent === pid) stack.push(child);
  }
  return total;
}

function canBind(port) {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function clusterPorts() {
  const { allPorts } = require('../dist/cluster/server-config.js');
  for (let attempt = 0; attempt < 50; attempt++) {
    const ports = {
      frontend: 21_000 + Math.floor(Math.random() * 12_000),
      postgres: await freePort(),
      ui: 0,
    };
    if ((await Promise.all(allPorts(ports).map(canBind))).every(Boolean)) return ports;
  }
  throw new Error('no free block of ports for a cluster');
}

/** The SQLite dev server `longrun dev` starts. */
export async function startDevBackend(dir) {
  const { temporalCliPath } = require('../dist/dev/temporal-cli.js');
  const { startDevServer } = require('../dist/dev/server.js');
  const server = await startDevServer({
    cliPath: temporalCliPath({ quiet: true }),
    dataDir: join(dir, 'dev-server'),
    port: await freePort(),
    uiPort: 0,
  });
  return {
    name: 'dev server (SQLite)',
    address: server.address,
    cpu: () => ({ server: cpuSecondsOf(server.pid) }),
    commits: () => null,
    stop: () => server.stop(),
  };
}

/** The native cluster `longrun cluster up` starts: PostgreSQL and the Temporal server, no UI. */
export async function startClusterBackend(dir) {
  const cluster = require('../dist/cluster/cluster.js');
  const opts = { dir: join(dir, 'cluster'), ports: await clusterPorts() };
  const status = await cluster.clusterUp(opts);
  const url = `postgresql://temporal:temporal@${status.postgres.address}/postgres`;
  const sql = (query) => {
    const r = spawnSync('psql', [url, '-Atc', query], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`psql: ${r.stderr}`);
    return r.stdout.trim();
  };
  return {
    name: 'cluster (PostgreSQL)',
    address: status.address,
    cpu: () => ({ server: cpuSecondsOf(status.temporal.pid), postgres: treeCpuSeconds(status.postgres.pid) }),
    /**
     * Counters so far: transactions committed in every database (read-only ones count too), WAL
     * flushes to disk (what a write transaction waits for; concurrent commits share one) and rows
     * written.
     */
    commits: () => {
      const [xacts, walSyncs, rows] = sql(
        'select (select sum(xact_commit) from pg_stat_database), (select wal_sync from pg_stat_wal), ' +
          '(select sum(tup_inserted + tup_updated + tup_deleted) from pg_stat_database)'
      )
        .split('|')
        .map(Number);
      return { xacts, walSyncs, rows };
    },
    /** pgbench's TPC-B-like write transaction (-N: no branch/teller hot spots) for `seconds`. */
    pgbench(clients, seconds) {
      if (sql("select count(*) from pg_database where datname = 'pgbench'") === '0') {
        sql('create database pgbench');
        const init = spawnSync('pgbench', ['-i', '-q', '-s', '10', url.replace(/\/postgres$/, '/pgbench')], {
          encoding: 'utf8',
        });
        if (init.status !== 0) throw new Error(`pgbench -i: ${init.stderr}`);
      }
      const r = spawnSync(
        'pgbench',
        ['-n', '-N', '-c', String(clients), '-j', String(Math.min(clients, 2)), '-T', String(seconds),
          url.replace(/\/postgres$/, '/pgbench')],
        { encoding: 'utf8' }
      ); // prettier-ignore
      const tps = /tps = ([\d.]+)/.exec(r.stdout);
      if (r.status !== 0 || !tps) throw new Error(`pgbench: ${r.stderr || r.stdout}`);
      return Number(tps[1]);
    },
    settings: () =>
      sql(
        "select string_agg(name || '=' || setting, ', ') from pg_settings where name in ('fsync', 'synchronous_commit', 'wal_sync_method', 'shared_buffers', 'max_connections')"
      ),
    stop: () => cluster.clusterDown({ ...opts, purge: true }),
  };
}

export const BACKENDS = { dev: startDevBackend, cluster: startClusterBackend };
