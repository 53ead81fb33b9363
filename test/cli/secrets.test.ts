/**
 * No secret leaves longrun: the Temporal API key, a TLS private key, the LLM key and the webhook
 * secret are set to markers, a worker process and the CLI do their work (including a failure whose
 * provider echoes the key), and every output, the worker's log, every webhook and the dev server's
 * database are searched for the markers.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { codebaseReviewSpec } from '../../src/shared/plans';
import { startFakeLlm, type FakeLlm } from '../support/fake-llm';
import { freePort } from '../support/ports';
import { useServerAndWorkers } from '../support/temporal';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver';
import { waitFor } from '../support/worker-process';

const ROOT = join(__dirname, '..', '..');
const DB = join(tmpdir(), `longrun-secrets-${process.pid}.db`);
const MARKERS = {
  api: 'MARKER-temporal-api-key-7f3a9c',
  llm: 'MARKER-llm-api-key-1b2e8d',
  webhook: 'MARKER-webhook-secret-c4d5e6',
  tls: 'MARKER-tls-private-key-99aa11',
};
const t = useServerAndWorkers('secrets', undefined, ['--db-filename', DB]);

let llm: FakeLlm;
let receiver: WebhookReceiver;
beforeAll(async () => {
  llm = await startFakeLlm();
  receiver = await startWebhookReceiver();
});
afterAll(async () => {
  await llm?.close();
  await receiver?.close();
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${DB}${suffix}`, { force: true });
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function longrun(env: Record<string, string>, ...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(ROOT, 'bin', 'longrun.js'), ...args],
      { cwd: t.dir, timeout: 90_000, env: { ...process.env, ...env } },
      (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr })
    );
  });
}

it('never prints, logs, sends or stores an API key, a TLS key, an LLM key or a webhook secret', async () => {
  const keyFile = join(t.dir, 'client.key');
  writeFileSync(keyFile, `-----BEGIN PRIVATE KEY-----\n${MARKERS.tls}\n-----END PRIVATE KEY-----\n`);
  const healthPort = await freePort();
  const env = {
    TEMPORAL_ADDRESS: t.env.address,
    TEMPORAL_API_KEY: MARKERS.api,
    TEMPORAL_TLS: 'false', // the dev server speaks plain gRPC; the key still travels in every call
    LONGRUN_TASK_QUEUE: 'secrets',
    LONGRUN_DATA_DIR: join(t.dir, 'data'),
    LONGRUN_LLM_BASE_URL: llm.baseUrl,
    LONGRUN_LLM_MODEL: 'test-model',
    LONGRUN_LLM_API_KEY: MARKERS.llm,
    LONGRUN_WEBHOOK_SECRET: MARKERS.webhook,
    LONGRUN_WEBHOOK_URLS: receiver.url,
    LONGRUN_HEALTH_PORT: String(healthPort),
  };
  const worker = t.spawn(env);
  await waitFor('the worker polling', () => (/task queue/.test(worker.output()) ? true : undefined), 30_000);

  const review = join(t.dir, 'review.json');
  writeFileSync(
    review,
    JSON.stringify(
      codebaseReviewSpec({ taskId: 'secrets-review', root: join(ROOT, 'test', 'fixtures', 'sample-repo') })
    )
  );
  const summary = join(t.dir, 'summary.json');
  writeFileSync(
    summary,
    JSON.stringify({
      v: 1,
      taskId: 'secrets-llm',
      agent: 'secrets',
      phases: [{ id: 'p', steps: [{ id: 'sum', action: 'llm.summarize', input: { texts: ['hello'] } }] }],
    })
  );
  llm.setMode('echo-key'); // the provider puts the key into its error message

  const runs: Run[] = [];
  const run = async (...args: string[]) => {
    const r = await longrun(env, ...args);
    runs.push(r);
    return r;
  };
  expect((await run('start', review, '--json')).code).toBe(0);
  expect((await run('start', summary, '--json')).code).toBe(0);
  expect((await run('result', 'secrets-review')).code).toBe(0);
  expect((await run('result', 'secrets-llm')).code).toBe(5); // failed: the key was refused
  for (const args of [
    ['status', 'secrets-review', '--json'],
    ['status', 'secrets-llm'],
    ['list', '--json'],
    ['logs', 'secrets-llm', '--json'],
    ['failed', '--json'],
    ['failed'],
    ['actions', '--json'],
    ['checkpoints', 'secrets-review', '--json'],
    ['health', '--url', `http://127.0.0.1:${healthPort}/health`],
    ['status', 'no-such-task'],
    ['start', join(t.dir, 'missing.json')],
  ]) {
    await run(...args);
  }
  // TLS on, with the marker key: the connection fails, and says so without the key.
  const tls = await longrun(
    { ...env, TEMPORAL_TLS: 'true', TEMPORAL_TLS_CERT: keyFile, TEMPORAL_TLS_KEY: keyFile },
    'status',
    'x'
  );
  runs.push(tls);
  expect(tls.code).not.toBe(0);
  await receiver.waitFor(2);
  worker.child.kill('SIGTERM');
  await worker.exited;

  // The searches below can find what they look for: the task, the keys in use, the echo redacted.
  expect(llm.requests.some((r) => r.authorization === `Bearer ${MARKERS.llm}`)).toBe(true);
  const failed = runs.find(
    (r) => r.stdout.includes('"taskId": "secrets-llm"') && r.stdout.includes('[redacted]')
  );
  expect(failed).toBeDefined();
  await t.env.teardown(); // the server writes its database out
  const db = [DB, `${DB}-wal`]
    .filter(existsSync)
    .map((p) => readFileSync(p).toString('latin1'))
    .join('');
  expect(db).toContain('secrets-review');

  const places: [string, string][] = [
    ...runs.map((r, i): [string, string] => [`CLI run ${i}`, r.stdout + r.stderr]),
    ['worker log', worker.output()],
    ['webhooks', JSON.stringify(receiver.requests)],
    ['dev server database', db],
  ];
  for (const [where, text] of places) {
    for (const [name, marker] of Object.entries(MARKERS)) {
      if (text.includes(marker)) throw new Error(`the ${name} secret leaked into the ${where}`);
    }
  }
});
