// One local PostgreSQL for the DBOS and LangGraph peers, started with the project's own helpers
// (dist/cluster/postgres.js: Debian's server, loopback TCP only, superuser `temporal`; as root every
// command runs as the `postgres` user, which is why the temp folder is made enterable for it).
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { requirePeers, requireRepo } from './common.mjs';

export async function startPostgres({ dir, freePort }) {
  const pgHelpers = requireRepo('./dist/cluster/postgres.js');
  const bin = pgHelpers.postgresBin();
  const base = join(dir, 'pg');
  mkdirSync(base, { recursive: true });
  chmodSync(dir, 0o711); // mkdtemp makes it 0700: the postgres user must be able to pass through it
  const paths = { dataDir: join(base, 'data'), logFile: join(base, 'postgres.log') };
  pgHelpers.initPostgres(bin, paths);
  const port = await freePort();
  pgHelpers.startPostgres(bin, paths, port);
  const url = (db) => `postgresql://temporal:temporal@127.0.0.1:${port}/${db}`;
  const { default: pg } = await import(requirePeers.resolve('pg'));
  const admin = new pg.Client({ connectionString: url('postgres') });
  await admin.connect();
  const show = async (setting) => (await admin.query(`SHOW ${setting}`)).rows[0][setting];
  const settings = {
    version: (await show('server_version')).split(' ')[0],
    fsync: await show('fsync'),
    synchronous_commit: await show('synchronous_commit'),
    wal_sync_method: await show('wal_sync_method'),
  };
  return {
    url,
    settings,
    /** A fresh database per peer, so neither sees the other's tables. */
    async createDatabase(db) {
      await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
      await admin.query(`CREATE DATABASE ${db}`);
      return url(db);
    },
    async stop() {
      await admin.end().catch(() => {});
      pgHelpers.stopPostgres(bin, paths, 'fast');
    },
    /** For a failure path: stop it even if the fast stop fails. */
    stopNow() {
      try {
        pgHelpers.stopPostgres(bin, paths, 'immediate');
      } catch {
        // already gone
      }
    },
  };
}
