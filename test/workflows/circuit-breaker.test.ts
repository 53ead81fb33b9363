/**
 * Circuit breaker end to end on the dev server: an `llm.summarize` task against a real local LLM
 * server that goes down. The breaker opens after 5 failures, attempts fail fast without reaching the
 * server (Temporal waits out the recovery timeout the failure carried), a failed half-open trial
 * re-opens it, and once the server is back the trial succeeds and the task completes where it left
 * off. The worker's health report shows the circuit over real HTTP meanwhile.
 */
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { AgentAction } from '../../src/activities';
import { llmActions, llmBreakerName, type SummaryEntry } from '../../src/activities/llm';
import { ArtifactStore } from '../../src/runtime/artifact-store';
import { breakerFor, configureBreakers } from '../../src/activities/circuit-breakers';
import {
  healthReport,
  startHealthServer,
  type HealthReport,
  type HealthServer,
} from '../../src/worker/health';
import { printHealth } from '../../src/cli/health';
import type { TaskSpecInput } from '../../src/shared/spec';
import type { ArtifactRef } from '../../src/shared/step-io';
import { failuresQuery } from '../../src/workflows/messages';
import { startFakeLlm, type FakeLlm } from '../support/fake-llm';
import { useWorkerEnv } from '../support/temporal';

const TASK_QUEUE = 'circuit-breaker-test';
const RECOVERY_MS = 2_000;

let fake: FakeLlm;
let health: HealthServer;
const actions: AgentAction[] = [];
// Runs before useWorkerEnv's beforeAll: the action needs the fake server's port.
beforeAll(async () => {
  fake = await startFakeLlm();
  configureBreakers({ failureThreshold: 5, recoveryTimeoutMs: RECOVERY_MS });
  actions.push(...llmActions({ baseUrl: fake.baseUrl, apiKey: 'sk-e2e', model: 'small', timeoutMs: 5_000 }));
});
const t = useWorkerEnv({ taskQueue: TASK_QUEUE, actions });
beforeAll(async () => {
  health = await startHealthServer({ port: 0, report: () => healthReport({ worker: t.worker }) });
});
afterAll(async () => {
  await health?.close();
  await fake?.close();
});

async function until(what: string, check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function getHealth(): Promise<{ status: number; report: HealthReport }> {
  const res = await fetch(health.url);
  return { status: res.status, report: (await res.json()) as HealthReport };
}

describe('circuit breaker (dev server)', () => {
  it('opens on an outage, fails fast without reaching the service, and completes after recovery', async () => {
    const texts = ['t1', 't2', 't3', 't4', 't5'];
    const spec: TaskSpecInput = {
      v: 1,
      taskId: 'summaries',
      agent: 'circuit-breaker-test',
      durability: 'high', // unlimited attempts: the task waits out the outage
      phases: [{ id: 'p', steps: [{ id: 'summarize', action: 'llm.summarize', input: { texts } }] }],
    };
    const breaker = breakerFor(llmBreakerName(fake.baseUrl, 'sk-e2e'));
    fake.queue('ok', 'ok'); // t1 and t2 are summarized, then the service goes down
    fake.setMode('unavailable', { retryAfter: '1' });
    await t.longrun.start(spec);

    // 5 consecutive failures (Temporal retries the step after each Retry-After) open the circuit.
    await until('the circuit opens', () => breaker.status().state === 'open');
    expect(fake.requests).toHaveLength(7);
    expect(breaker.status()).toMatchObject({ failures: 5, timesOpened: 1 });

    const { status, report } = await getHealth();
    expect(status).toBe(200);
    expect(report).toMatchObject({ status: 'degraded', pid: process.pid, worker: { state: 'RUNNING' } });
    expect(report.breakers).toEqual([
      expect.objectContaining({ name: llmBreakerName(fake.baseUrl, 'sk-e2e'), state: 'open', failures: 5 }),
    ]);
    expect(report.breakers[0]?.remainingMs).toBeGreaterThan(0);

    // While open (until its half-open time), attempts fail fast: nothing reaches the service.
    const halfOpenAt = breaker.status().halfOpenAt as number;
    expect(halfOpenAt - Date.now()).toBeGreaterThan(RECOVERY_MS / 2);
    while (Date.now() < halfOpenAt - 50) {
      expect(fake.requests).toHaveLength(7);
      await sleep(100);
    }
    expect(breaker.status().rejected).toBeGreaterThanOrEqual(1); // at least one attempt failed fast

    // The half-open trial fails (still down): open again for another recovery period.
    await until('the circuit re-opens', () => breaker.status().timesOpened === 2);
    expect(fake.requests).toHaveLength(8);
    fake.setMode('ok');
    expect(fake.requests).toHaveLength(8); // no request while open, even though the service is back

    const result = await t.longrun.result('summaries');
    expect(result).toMatchObject({ state: 'completed', outputs: { summarize: { count: 5 } } });
    // The trial after the next recovery period closed the circuit; t3 to t5 took one request each.
    expect(breaker.status()).toMatchObject({ state: 'closed', failures: 0, timesOpened: 2 });
    expect(fake.requests).toHaveLength(11);
    // Resumed mid-step: every text was summarized exactly once, in order.
    expect(fake.requests.filter((r) => r.mode === 'ok').map((r) => r.text)).toEqual(texts);
    const ref = (result.outputs as { summarize: { summaries: ArtifactRef } }).summarize.summaries;
    const summaries = await new ArtifactStore(join(t.dir, 'artifacts')).getJson<SummaryEntry[]>(ref);
    expect(summaries).toEqual(texts.map((text, index) => ({ index, summary: fake.summaryOf(text) })));
    // Retried within the step: the workflow never had to decide anything.
    expect(await t.env.client.workflow.getHandle('summaries').query(failuresQuery)).toEqual([]);

    const after = await getHealth();
    expect(after).toMatchObject({ status: 200, report: { status: 'ok' } });
  });
});

describe('health report', () => {
  it('answers 503 once the worker stops polling, and 404 elsewhere', async () => {
    const stopping = await startHealthServer({
      port: 0,
      report: () =>
        healthReport({
          worker: { getStatus: () => ({ runState: 'DRAINING', numInFlightNonLocalActivities: 2 }) },
          breakers: () => [],
        }),
    });
    try {
      const res = await fetch(stopping.url);
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({
        status: 'unavailable',
        worker: { state: 'DRAINING', runningSteps: 2 },
        breakers: [],
        memory: { rssBytes: expect.any(Number) as number },
      });
      expect((await fetch(stopping.url.replace('/health', '/'))).status).toBe(404);
    } finally {
      await stopping.close();
    }
  });
});

describe('longrun health', () => {
  const capture = () => {
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    return { out, text: () => Buffer.concat(chunks).toString('utf8') };
  };

  it("prints the worker's report and exits 0 while it runs", async () => {
    const { out, text } = capture();
    expect(await printHealth(health.url, out, { json: true })).toBe(0);
    expect(JSON.parse(text())).toMatchObject({ status: 'ok', worker: { state: 'RUNNING', runningSteps: 0 } });
  });

  it('exits 1 when the worker answers 503, and names the URL it cannot reach', async () => {
    const stopping = await startHealthServer({
      port: 0,
      report: () =>
        healthReport({
          worker: { getStatus: () => ({ runState: 'STOPPED', numInFlightNonLocalActivities: 0 }) },
        }),
    });
    const { url } = stopping;
    expect(await printHealth(url, capture().out)).toBe(1);
    await stopping.close();
    await expect(printHealth(url, capture().out)).rejects.toThrow(
      `cannot reach the worker's health report at ${url} (ECONNREFUSED)`
    );
  });
});
