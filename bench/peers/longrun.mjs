// Peer 2: longrun (this project), on a local Temporal dev server. Run as `node longrun.mjs --work ...`
// it is the work process: a longrun worker built as bench/overhead.mjs builds one.
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { killWork, ledgerItem, requireRepo, spawnWork, stopWork, versionOf } from './common.mjs';

const SELF = fileURLToPath(import.meta.url);
const loadLongrun = () => ({ ...requireRepo('./dist/index.js'), ...requireRepo('./dist/worker/index.js') });
// The level with the shortest heartbeat timeout (5 s on the standard profile), so that workload (c)
// measures recovery, not a long timeout; the level changes nothing else measured here.
const LEVEL = 'high';

if (process.argv.includes('--work')) {
  const { values } = parseArgs({
    options: { work: { type: 'boolean' }, address: { type: 'string' }, queue: { type: 'string' }, dir: { type: 'string' } },
  }); // prettier-ignore
  const longrun = loadLongrun();
  const { NativeConnection, Runtime, DefaultLogger } = requireRepo('@temporalio/worker');
  const { z } = requireRepo('zod');
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const noop = longrun.defineAction({
    name: 'peers.noop',
    description: 'a trivial step',
    input: z.object({ x: z.number() }),
    async run(_ctx, input) {
      return { x: input.x };
    },
  });
  const items = longrun.defineAction({
    name: 'peers.items',
    description: 'n items, a checkpoint after each',
    input: z.object({ n: z.number().int(), ledger: z.string() }),
    async run(ctx, input) {
      const all = Array.from({ length: input.n }, (_, i) => i);
      for await (const i of ctx.checkpointed(all)) ledgerItem(input.ledger, i);
      return { n: input.n };
    },
  });
  mkdirSync(values.dir, { recursive: true });
  const config = { ...longrun.loadConfig({}, values.dir), taskQueue: values.queue };
  const connection = await NativeConnection.connect({ address: values.address });
  const { worker } = await longrun.createLongrunWorker({ config, connection, actions: [noop, items] });
  process.stdout.write('ready\n');
  await worker.run();
  await connection.close();
  process.exit(0);
}

export const name = 'longrun';

export async function setup({ dir, devServer }) {
  const { LongrunClient, loadConfig } = loadLongrun();
  const queue = 'peers-longrun';
  const workDir = `${dir}/longrun-worker`;
  mkdirSync(workDir, { recursive: true });
  const client = await LongrunClient.connect({
    config: { ...loadConfig({}, workDir), taskQueue: queue },
    address: devServer.address,
  });
  const spec = (taskId, steps) => ({
    v: 1,
    taskId,
    agent: 'peers',
    durability: LEVEL,
    phases: [{ id: 'p', steps }],
  });
  const itemsSpec = (id, n, ledger) =>
    spec(id, [{ id: 'items', action: 'peers.items', input: { n, ledger } }]);
  const finish = async (id) => {
    const result = await client.result(id);
    if (result.state !== 'completed') throw new Error(`longrun task ${id} ended ${result.state}`);
    return result;
  };
  let work;
  return {
    settings: [
      `Temporal dev server ${devServer.version} (as for bare Temporal), persistence: its SQLite file on local disk, fsync on`,
      `durability level \`${LEVEL}\`, hardware profile \`standard\` forced (LONGRUN_HARDWARE_PROFILE): heartbeat timeout 5 s`,
      "a checkpoint: `ctx.checkpointed()` advances the step's cursor per item; the cursor reaches the server in a heartbeat at most every 1 s (no history event); a step boundary is a history event",
      `longrun ${requireRepo('./package.json').version} (this checkout, dist/), Temporal SDK ${versionOf(requireRepo, '@temporalio/worker')}`,
    ],
    async startWork() {
      work = await spawnWork(
        SELF,
        ['--work', '--address', devServer.address, '--queue', queue, '--dir', workDir],
        {
          name: 'longrun worker',
          env: { LONGRUN_HARDWARE_PROFILE: 'standard' },
        }
      );
      return work;
    },
    kill: () => killWork(work),
    async three(id) {
      const steps = [1, 2, 3].map((x) => ({ id: `s${x}`, action: 'peers.noop', input: { x } }));
      await client.start(spec(id, steps));
      return finish(id);
    },
    async items(id, n, ledger) {
      await client.start(itemsSpec(id, n, ledger));
      return finish(id);
    },
    async startItems(id, n, ledger) {
      await client.start(itemsSpec(id, n, ledger));
      return () => finish(id);
    },
    async close() {
      await stopWork(work);
      await client.close();
    },
  };
}
