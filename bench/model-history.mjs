#!/usr/bin/env node
// History and heartbeat bytes of model calls, and the case of Temporal Python SDK issue 1890: an agent
// makes 100 model calls on a conversation that grows to about 209k tokens; with every request and
// answer in the workflow's history, that workflow died at 50 MB of history.
//
// longrun runs the same conversation as one step (`ctx.model.chat`, a checkpoint after every answer)
// against a chat-completions server on loopback, on a local dev server; the table gives the measured
// history (protobuf bytes and events), the largest heartbeat the server held for the step, the bytes
// written to the artifact store, and, beside it, the history the naive design would reach (every
// request and answer as an activity's input and result: the ledger's exact bytes).
//
//   npm run build && node bench/model-history.mjs [--calls 100] [--tokens 209000]
import { createServer } from 'node:http';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { freePort, markdownTable } from './support.mjs';

const require = createRequire(import.meta.url);
const { values } = parseArgs({
  options: {
    calls: { type: 'string', default: '100' },
    tokens: { type: 'string', default: '209000' },
  },
});
const calls = Number(values.calls);
const tokens = Number(values.tokens);
for (const [flag, n] of [
  ['--calls', calls],
  ['--tokens', tokens],
]) {
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${flag}: must be a positive whole number`);
}
// Each call adds a user message and an answer; together they grow the context by tokens/calls.
const charsPerTurn = Math.floor((tokens * 4) / calls);
const answerChars = Math.floor(charsPerTurn / 4);
const userChars = charsPerTurn - answerChars;

const longrun = { ...require('../dist/index.js'), ...require('../dist/worker/index.js') };
const { NativeConnection, Runtime, DefaultLogger } = require('@temporalio/worker');
const { temporal } = require('@temporalio/proto');
const { z } = require('zod');
const { startDevServer } = require('../dist/dev/server.js');
const { formatUsage } = require('../dist/shared/model-usage.js');
const { temporalCliPath } = require('../dist/dev/temporal-cli.js');
Runtime.install({ logger: new DefaultLogger('WARN') });

/** A chat-completions server on loopback that answers `answerChars` characters and keeps a ledger. */
async function startProvider() {
  const ledger = { requestBytes: 0, responseBytes: 0, calls: 0, lastPromptTokens: 0 };
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const { messages } = JSON.parse(body.toString('utf8'));
      const promptTokens = Math.ceil(JSON.stringify(messages).length / 4);
      const answer = JSON.stringify({
        id: `c${ledger.calls}`,
        model: 'fake-model',
        choices: [{ index: 0, message: { role: 'assistant', content: `a${ledger.calls} ${'y'.repeat(answerChars)}` }, finish_reason: 'stop' }],
        usage: { prompt_tokens: promptTokens, completion_tokens: Math.ceil(answerChars / 4) },
      }); // prettier-ignore
      ledger.calls++;
      ledger.requestBytes += body.length;
      ledger.responseBytes += Buffer.byteLength(answer);
      ledger.lastPromptTokens = promptTokens;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(answer);
    });
  });
  const port = await freePort();
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { ledger, baseUrl: `http://127.0.0.1:${port}/v1`, close: () => server.close() };
}

const conversation = longrun.defineAction({
  name: 'bench.conversation',
  description: 'one conversation that grows by a user message and an answer per call',
  input: z.object({ calls: z.number().int(), userChars: z.number().int() }),
  async run(ctx, input) {
    const at = ctx.cursor;
    const messages = at ? await ctx.model.loadConversation(at.tip) : [];
    for (let i = at?.next ?? 0; i < input.calls; i++) {
      messages.push({ role: 'user', content: `q${i} ${'x'.repeat(input.userChars)}` });
      const answer = await ctx.model.chat({ messages });
      messages.push(answer.message);
      ctx.checkpoint({ next: i + 1, tip: await ctx.model.saveConversation(messages) }, i + 1, input.calls);
    }
    return { calls: input.calls, usage: ctx.model.usage() };
  },
});

function folderBytes(dir) {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? folderBytes(path) : statSync(path).size;
  }
  return total;
}

const dir = mkdtempSync(join(tmpdir(), 'longrun-bench-model-'));
const provider = await startProvider();
const port = await freePort();
const server = await startDevServer({
  cliPath: temporalCliPath({ quiet: true }),
  dataDir: join(dir, 'server'),
  port,
  uiPort: 0,
});
try {
  const address = `127.0.0.1:${port}`;
  const config = {
    ...longrun.loadConfig(
      {
        LONGRUN_LLM_BASE_URL: provider.baseUrl,
        LONGRUN_LLM_MODEL: 'fake-model',
        LONGRUN_TASK_QUEUE: 'bench-model',
        // gpt-4o's list prices, for a figure of what the conversation costs.
        LONGRUN_LLM_PRICES: JSON.stringify({ 'fake-model': { input: 2.5, output: 10 } }),
      },
      dir
    ),
  }; // prettier-ignore
  const connection = await NativeConnection.connect({ address });
  const { worker } = await longrun.createLongrunWorker({ config, connection, actions: [conversation] });
  const running = worker.run();
  const client = await longrun.LongrunClient.connect({ address, config });
  const taskId = 'issue-1890';
  const started = Date.now();
  await client.start({
    v: 1,
    taskId,
    agent: 'bench',
    phases: [
      { id: 'talk', steps: [{ id: 'talk', action: 'bench.conversation', input: { calls, userChars } }] },
    ],
  });
  // The largest heartbeat the server holds for the step while it runs.
  let maxHeartbeat = 0;
  const handle = client.client.workflow.getHandle(taskId);
  const watch = setInterval(async () => {
    const pending = (await handle.describe().catch(() => null))?.raw.pendingActivities?.[0];
    for (const p of pending?.heartbeatDetails?.payloads ?? []) maxHeartbeat = Math.max(maxHeartbeat, p.data?.length ?? 0);
  }, 100); // prettier-ignore
  const result = await client.result(taskId);
  clearInterval(watch);
  const wallMs = Date.now() - started;
  const history = await handle.fetchHistory();
  const historyBytes = temporal.api.history.v1.History.encode(history).finish().length;
  worker.shutdown();
  await running;
  await connection.close();

  const naiveBytes = provider.ledger.requestBytes + provider.ledger.responseBytes;
  const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
  const mb = (n) => `${(n / 1024 / 1024).toFixed(2)} MB`;
  console.log(
    `\n${calls} model calls, context growing to ${provider.ledger.lastPromptTokens} prompt tokens ` +
      `(${charsPerTurn} characters a turn); ${result.state} in ${(wallMs / 1000).toFixed(1)} s\n`
  );
  console.log(
    markdownTable(
      [['design', 'left'], ['history', 'right'], ['events', 'right'], ['history per call', 'right'], ['largest heartbeat', 'right'], ['artifact store', 'right']],
      [
        ['longrun (`ctx.model.chat`, measured)', mb(historyBytes), String(history.events.length), kb(historyBytes / calls), `${maxHeartbeat} B`, mb(folderBytes(config.artifactDir))],
        ['naive: each request and answer in history (ledger bytes)', mb(naiveBytes), `about ${calls * 6}`, kb(naiveBytes / calls), '–', '–'],
      ]
    )
  ); // prettier-ignore
  console.log(
    `\nUsage: ${formatUsage(result.usage)}. ` +
      'The dev server warns at 10 MB of history and fails a workflow at 50 MB. Noise: one run; history ' +
      'bytes are exact for this run, wall time varies with the machine.'
  );
} finally {
  provider.close();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
