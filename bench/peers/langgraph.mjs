// Peer 5: LangGraph JS with its PostgreSQL checkpointer on the local PostgreSQL. A graph whose one node
// does one item and loops back: one super-step per item, and with `durability: "sync"` each
// super-step's checkpoint is written before the next starts (the default, "async", writes it while the
// next step runs). LangGraph is a library and has no recovery of its own: after a crash the app must
// invoke the graph again on the same thread with no input, which resumes from the last checkpoint.
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
  const { StateGraph, Annotation, START, END } = await import(requirePeers.resolve('@langchain/langgraph'));
  const { PostgresSaver } = await import(requirePeers.resolve('@langchain/langgraph-checkpoint-postgres'));
  const checkpointer = PostgresSaver.fromConnString(values.db);
  await checkpointer.setup();
  const State = Annotation.Root({ i: Annotation(), n: Annotation(), ledger: Annotation() });
  const three = new StateGraph(State)
    .addNode('s1', () => ({ i: 1 }))
    .addNode('s2', () => ({ i: 2 }))
    .addNode('s3', () => ({ i: 3 }))
    .addEdge(START, 's1')
    .addEdge('s1', 's2')
    .addEdge('s2', 's3')
    .addEdge('s3', END)
    .compile({ checkpointer });
  const next = (s) => (s.i < s.n ? 'item' : END);
  const items = new StateGraph(State)
    .addNode('item', (s) => ({ i: ledgerItem(s.ledger, s.i) + 1 }))
    .addConditionalEdges(START, next, ['item', END])
    .addConditionalEdges('item', next, ['item', END])
    .compile({ checkpointer });
  const config = (id, n) => ({ configurable: { thread_id: id }, durability: 'sync', recursionLimit: n + 10 });
  const running = new Map();
  const run = (id, n, input) => {
    const done = items.invoke(input, config(id, n)).then((s) => s.i);
    running.set(id, done);
    done.catch(() => {});
    return done;
  };
  await serveJson(Number(values.port), {
    '/three': async ({ id }) => (await three.invoke({ i: 0 }, config(id, 3))).i,
    '/items': async ({ id, n, ledger }) => run(id, n, { i: 0, n, ledger }),
    '/start-items': async ({ id, n, ledger }) => {
      void run(id, n, { i: 0, n, ledger });
      return true;
    },
    // After a restart: the same thread, no input, resumes after the last checkpointed super-step.
    '/resume': async ({ id, n }) => {
      void run(id, n, null);
      return true;
    },
    '/result': async ({ id }) => running.get(id),
  });
}

export const name = 'LangGraph';

export async function setup({ freePort, postgres }) {
  const db = await postgres.createDatabase('peers_langgraph');
  const port = await freePort();
  const app = `http://127.0.0.1:${port}`;
  const pg = postgres.settings;
  let work;
  return {
    settings: [
      `PostgreSQL ${pg.version} (the same server as DBOS, its own database), persistence: \`PostgresSaver\` checkpoint tables`,
      `fsync: ${pg.fsync}, synchronous_commit: ${pg.synchronous_commit}: PostgreSQL defaults; graph \`durability: "sync"\``,
      'a checkpoint: one super-step (one node run = one item) written by the checkpointer before the next super-step',
      'recovery: none built in; the restarted app is told to resume the thread (`invoke(null)`) as soon as it is up',
      `@langchain/langgraph ${versionOf(requirePeers, '@langchain/langgraph')}, @langchain/langgraph-checkpoint-postgres ${versionOf(requirePeers, '@langchain/langgraph-checkpoint-postgres')}`,
    ],
    async startWork() {
      work = await spawnWork(SELF, ['--work', '--port', String(port), '--db', db], { name: 'langgraph app' });
      return work;
    },
    kill: () => killWork(work),
    three: (id) => postJson(`${app}/three`, { id }),
    items: (id, n, ledger) => postJson(`${app}/items`, { id, n, ledger }),
    async startItems(id, n, ledger) {
      await postJson(`${app}/start-items`, { id, n, ledger });
      return () => postJson(`${app}/result`, { id });
    },
    // Called by the orchestrator right after the restarted work process is ready.
    afterRestart: (id, n) => postJson(`${app}/resume`, { id, n }),
    close: () => stopWork(work),
  };
}
