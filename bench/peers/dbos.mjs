// Peer 4: DBOS Transact (TypeScript) on the local PostgreSQL. Each step and each item is a
// `DBOS.runStep`, whose output is written to the system database before the workflow goes on. DBOS is
// a library inside the app, so the work process is a small app: it launches DBOS (which recovers the
// workflows left pending by a dead process of the same executor) and serves JSON over HTTP.
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  killWork,
  ledgerItem,
  postJson,
  requirePeers,
  serveJson,
  spawnWork,
  stopWork,
  versionOf,
} from './common.mjs';

const SELF = fileURLToPath(import.meta.url);

if (process.argv.includes('--work')) {
  const { values } = parseArgs({
    options: { work: { type: 'boolean' }, port: { type: 'string' }, db: { type: 'string' } },
  });
  const { DBOS } = await import(requirePeers.resolve('@dbos-inc/dbos-sdk'));
  DBOS.setConfig({ name: 'peers', systemDatabaseUrl: values.db, logLevel: 'warn' });
  const three = DBOS.registerWorkflow(
    async () => {
      for (const x of [1, 2, 3]) await DBOS.runStep(async () => x, { name: `s${x}` });
      return 3;
    },
    { name: 'three' }
  );
  const items = DBOS.registerWorkflow(
    async (n, ledger) => {
      for (let i = 0; i < n; i++) await DBOS.runStep(async () => ledgerItem(ledger, i), { name: 'item' });
      return n;
    },
    { name: 'items' }
  );
  await DBOS.launch();
  const start = (wf, id, ...args) => DBOS.startWorkflow(wf, { workflowID: id })(...args);
  await serveJson(Number(values.port), {
    '/three': async ({ id }) => (await start(three, id)).getResult(),
    '/items': async ({ id, n, ledger }) => (await start(items, id, n, ledger)).getResult(),
    // Answers once the workflow is recorded (startWorkflow resolves after its status row is written).
    '/start-items': async ({ id, n, ledger }) => {
      await start(items, id, n, ledger);
      return true;
    },
    '/result': async ({ id }) => DBOS.retrieveWorkflow(id).getResult(),
  });
}

export const name = 'DBOS';

export async function setup({ freePort, postgres }) {
  const db = await postgres.createDatabase('peers_dbos');
  const port = await freePort();
  const app = `http://127.0.0.1:${port}`;
  const pg = postgres.settings;
  let work;
  return {
    settings: [
      `PostgreSQL ${pg.version} (local, one server shared with the LangGraph peer, its own database), persistence: DBOS system database`,
      `fsync: ${pg.fsync}, synchronous_commit: ${pg.synchronous_commit} (wal_sync_method ${pg.wal_sync_method}): PostgreSQL defaults`,
      'a checkpoint: a `DBOS.runStep` output row, committed before the workflow continues',
      'recovery: on `DBOS.launch()` the restarted app re-enqueues the workflows its executor (`local`) left pending',
      `@dbos-inc/dbos-sdk ${versionOf(requirePeers, '@dbos-inc/dbos-sdk')}, pg ${versionOf(requirePeers, 'pg')}`,
    ],
    async startWork() {
      work = await spawnWork(SELF, ['--work', '--port', String(port), '--db', db], { name: 'dbos app' });
      return work;
    },
    kill: () => killWork(work),
    three: (id) => postJson(`${app}/three`, { id }),
    items: (id, n, ledger) => postJson(`${app}/items`, { id, n, ledger }),
    async startItems(id, n, ledger) {
      await postJson(`${app}/start-items`, { id, n, ledger });
      return () => postJson(`${app}/result`, { id });
    },
    close: () => stopWork(work),
  };
}
