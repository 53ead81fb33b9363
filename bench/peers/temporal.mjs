// Peer 1: bare Temporal, the TypeScript SDK alone (the project's own @temporalio packages), on a local
// dev server. Run as `node temporal.mjs --work ...` it is the work process (a Temporal worker).
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { PEERS_DIR, killWork, ledgerItem, requireRepo, spawnWork, stopWork, versionOf } from './common.mjs';

const SELF = fileURLToPath(import.meta.url);

if (process.argv.includes('--work')) {
  const { values } = parseArgs({
    options: { work: { type: 'boolean' }, address: { type: 'string' }, queue: { type: 'string' }, bundle: { type: 'string' } },
  }); // prettier-ignore
  const { Worker, NativeConnection, Runtime, DefaultLogger } = requireRepo('@temporalio/worker');
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const connection = await NativeConnection.connect({ address: values.address });
  // SDK defaults otherwise (sticky cache, 10 s sticky schedule-to-start, concurrency limits).
  const worker = await Worker.create({
    connection,
    taskQueue: values.queue,
    // Prebuilt bundle: a production worker does not run webpack at start, so neither does a restart here.
    workflowBundle: { codePath: values.bundle },
    activities: {
      async noop(x) {
        return x;
      },
      async item(i, ledger) {
        return ledgerItem(ledger, i);
      },
    },
  });
  process.stdout.write('ready\n');
  await worker.run();
  await connection.close();
  process.exit(0);
}

export const name = 'bare Temporal';

/** `temporal` dev server for this peer and longrun: started by the orchestrator, one per system. */
export async function setup({ dir, devServer }) {
  const { bundleWorkflowCode } = requireRepo('@temporalio/worker');
  const { Connection, Client } = requireRepo('@temporalio/client');
  const { code } = await bundleWorkflowCode({
    workflowsPath: join(PEERS_DIR, 'temporal-workflows.mjs'),
    logger: { info() {}, warn() {}, error: console.error, debug() {}, trace() {}, log() {} },
  });
  const bundle = join(dir, 'temporal-workflows.bundle.js');
  writeFileSync(bundle, code);
  const queue = 'peers-temporal';
  const connection = await Connection.connect({ address: devServer.address });
  const client = new Client({ connection });
  let work;
  const opts = (id) => ({ taskQueue: queue, workflowId: id });
  return {
    settings: [
      `Temporal dev server ${devServer.version} (temporal CLI \`server start-dev\`), persistence: its SQLite file on local disk`,
      "fsync: on; the dev server's SQLite settings, unchanged (rollback journal; strace counted ~120 fsync calls per 3-step task); one server process",
      'a checkpoint: a finished activity (one per item), recorded in the workflow history before the next is scheduled',
      'activities: start-to-close 5 s, default retry; worker: SDK defaults (sticky schedule-to-start 10 s), workflow code prebundled',
      `SDK @temporalio/* ${versionOf(requireRepo, '@temporalio/worker')}`,
    ],
    async startWork() {
      work = await spawnWork(
        SELF,
        ['--work', '--address', devServer.address, '--queue', queue, '--bundle', bundle],
        {
          name: 'temporal worker',
        }
      );
      return work;
    },
    kill: () => killWork(work),
    three: (id) => client.workflow.execute('three', { ...opts(id), args: [] }),
    items: (id, n, ledger) => client.workflow.execute('items', { ...opts(id), args: [n, ledger] }),
    async startItems(id, n, ledger) {
      const handle = await client.workflow.start('items', { ...opts(id), args: [n, ledger] });
      return () => handle.result();
    },
    async close() {
      await stopWork(work);
      await connection.close();
    },
  };
}
