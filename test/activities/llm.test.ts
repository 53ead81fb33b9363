/**
 * The LLM adapter against a real local HTTP server speaking the chat-completions shape: request
 * format, how each answer maps to longrun's failure kinds, the circuit breaker in front of it (on an
 * injected clock), and `llm.summarize` resuming mid-step through `runStep`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { actionRegistry, createActivities, PermanentError, TransientError } from '../../src/activities';
import { LlmClient, RateLimitError, summarizeAction, type SummaryEntry } from '../../src/activities/llm';
import { ArtifactStore } from '../../src/runtime/artifact-store';
import { BreakerRegistry, CircuitOpenError } from '../../src/activities/circuit-breakers';
import type { ArtifactRef, StepHeartbeat } from '../../src/shared/step-io';
import { startFakeLlm, type FakeLlm } from '../support/fake-llm';

let fake: FakeLlm;
let dir: string;
let now: number;
let breakers: BreakerRegistry;

beforeAll(async () => {
  fake = await startFakeLlm();
  dir = mkdtempSync(join(tmpdir(), 'longrun-llm-'));
});
afterAll(async () => {
  await fake.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  fake.setMode('ok');
  fake.requests.length = 0;
  now = 1_000_000;
  breakers = new BreakerRegistry({
    settings: { failureThreshold: 3, recoveryTimeoutMs: 10_000 },
    now: () => now,
    onTransition: null,
  });
});

function client(opts: { timeoutMs?: number; baseUrl?: string; apiKey?: string } = {}): LlmClient {
  return new LlmClient(
    {
      baseUrl: opts.baseUrl ?? fake.baseUrl,
      apiKey: opts.apiKey ?? 'sk-test',
      model: 'test-model',
      timeoutMs: opts.timeoutMs ?? 5_000,
    },
    { breakers, now: () => now }
  );
}
const ask = (llm: LlmClient, text = 'hello', signal?: AbortSignal) =>
  llm.chat({ messages: [{ role: 'user', content: text }], ...(signal ? { signal } : {}) });
const errorOf = (p: Promise<unknown>): Promise<unknown> =>
  p.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e
  );

describe('LLM adapter', () => {
  it('posts the model, messages and bearer key to /chat/completions and returns the answer', async () => {
    const answer = await client().chat({
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'the text' },
      ],
      maxTokens: 50,
    });
    expect(answer).toEqual({
      content: 'summary of "the text"',
      toolCalls: [],
      model: 'fake-model-001',
      finishReason: 'stop',
      usage: { promptTokens: expect.any(Number), completionTokens: 5, cachedTokens: 0 },
      latencyMs: expect.any(Number),
    });
    expect(fake.requests).toEqual([
      expect.objectContaining({ authorization: 'Bearer sk-test', model: 'test-model', text: 'the text' }),
    ]);
  });

  it('sends tools and the conversation so far, and returns the tool calls the model asked for', async () => {
    fake.respond(({ tools }) => ({
      toolCalls: [{ name: tools[0] as string, arguments: { path: 'a.txt' } }],
      usage: { prompt: 120, completion: 9, cached: 100 },
    }));
    try {
      const answer = await client().chat({
        model: 'other-model',
        messages: [
          { role: 'user', content: 'read a.txt' },
          { role: 'assistant', content: null, tool_calls: [] },
          { role: 'tool', tool_call_id: 'call_0', content: 'earlier result' },
        ],
        tools: [{ type: 'function', function: { name: 'read_file', parameters: { type: 'object' } } }],
      });
      expect(answer).toMatchObject({
        content: '',
        finishReason: 'tool_calls',
        toolCalls: [
          {
            id: 'call_1_0',
            type: 'function',
            function: { name: 'read_file', arguments: '{"path":"a.txt"}' },
          },
        ],
        usage: { promptTokens: 120, completionTokens: 9, cachedTokens: 100 },
      });
      expect(fake.requests[0]).toMatchObject({ model: 'other-model', tools: ['read_file'] });
      expect(fake.requests[0]?.messages).toHaveLength(3);
    } finally {
      fake.respond(undefined);
    }
  });

  it('returns null usage when the provider reports none', async () => {
    fake.respond(() => ({ content: 'hi', usage: null }));
    try {
      expect(await ask(client())).toMatchObject({ content: 'hi', usage: null });
    } finally {
      fake.respond(undefined);
    }
  });

  it('turns a 429 with Retry-After into a rate-limit error that carries the reset', async () => {
    fake.setMode('rate-limit', { retryAfter: '7' });
    const err = await errorOf(ask(client()));
    expect(err).toBeInstanceOf(RateLimitError);
    expect(err).toBeInstanceOf(TransientError);
    expect(err).toMatchObject({ retryAfterMs: 7_000, reset: { ms: 7_000, source: 'retry-after' } });
    expect((err as Error).message).toBe(`LLM ${fake.host} answered 429: Rate limit reached for requests.`);
  });

  it('reads the reset from x-ratelimit-reset-* headers and from the error body', async () => {
    fake.setMode('rate-limit', {
      headers: {
        'x-ratelimit-remaining-requests': '0',
        'x-ratelimit-reset-requests': '1m30s',
        'x-ratelimit-remaining-tokens': '5000',
        'x-ratelimit-reset-tokens': '2s',
      },
    });
    expect(await errorOf(ask(client({ apiKey: 'sk-a' })))).toMatchObject({
      reset: { ms: 90_000, source: 'x-ratelimit-reset-requests' },
    });
    fake.setMode('rate-limit', { message: 'Rate limit reached. Please try again in 20s.' });
    expect(await errorOf(ask(client({ apiKey: 'sk-b' })))).toMatchObject({
      reset: { ms: 20_000, source: 'body' },
    });
    fake.setMode('rate-limit');
    expect(await errorOf(ask(client({ apiKey: 'sk-c' })))).toMatchObject({ reset: null });
  });

  it('reads a Retry-After date on a 503 relative to the clock', async () => {
    fake.setMode('unavailable', { retryAfter: new Date(now + 30_000).toUTCString() });
    expect(await errorOf(ask(client()))).toMatchObject({ name: 'TransientError', retryAfterMs: 30_000 });
  });

  it('turns a 500 into a transient error with the policy backoff (no Retry-After)', async () => {
    fake.setMode('fail');
    const err = await errorOf(ask(client()));
    expect(err).toBeInstanceOf(TransientError);
    expect(err).toMatchObject({ retryAfterMs: undefined });
    expect((err as Error).message).toContain('answered 500: The server had an error');
  });

  it('turns a 401 into a permanent error with the service message, without tripping the breaker', async () => {
    fake.setMode('unauthorized');
    const llm = client();
    for (let i = 0; i < 5; i++) {
      const err = await errorOf(ask(llm));
      expect(err).toBeInstanceOf(PermanentError);
      expect((err as Error).message).toBe(`LLM ${fake.host} answered 401: Incorrect API key provided.`);
    }
    expect(fake.requests).toHaveLength(5); // every call reached the service
    expect(breakers.breakerFor(llm.breakerName).status()).toMatchObject({ state: 'closed', failures: 0 });
  });

  it('turns a 404 (wrong base URL) into a permanent error', async () => {
    const err = await errorOf(ask(client({ baseUrl: `${fake.baseUrl}/nope` })));
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as Error).message).toContain('answered 404: no route POST /v1/nope/chat/completions');
  });

  it('treats malformed JSON as transient', async () => {
    fake.setMode('bad-json');
    const err = await errorOf(ask(client()));
    expect(err).toBeInstanceOf(TransientError);
    expect((err as Error).message).toContain('malformed JSON');
  });

  it('gives up on a hanging service after the timeout, as a transient failure', async () => {
    fake.setMode('hang');
    const started = Date.now();
    const err = await errorOf(ask(client({ timeoutMs: 300 })));
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(err).toBeInstanceOf(TransientError);
    expect((err as Error).message).toBe(`LLM ${fake.host} did not answer within 300 ms`);
  });

  it('treats a refused connection as transient', async () => {
    const gone = await startFakeLlm();
    await gone.close();
    const err = await errorOf(ask(client({ baseUrl: gone.baseUrl })));
    expect(err).toBeInstanceOf(TransientError);
    expect((err as Error).message).toBe(`LLM ${gone.host} unreachable (ECONNREFUSED)`);
  });

  it('stops at once when the caller aborts, and does not count it against the service', async () => {
    fake.setMode('hang');
    const llm = client();
    const controller = new AbortController();
    const pending = errorOf(ask(llm, 'hello', controller.signal));
    await new Promise((resolve) => setTimeout(resolve, 100));
    controller.abort(new Error('step cancelled'));
    expect(await pending).toEqual(new Error('step cancelled'));
    expect(breakers.breakerFor(llm.breakerName).status()).toMatchObject({ failures: 0, calls: 1 });
  });
});

describe('LLM adapter behind its circuit breaker', () => {
  it('holds the credential pool open until a known quota reset: one probe for every task on the key', async () => {
    fake.setMode('rate-limit', { headers: { 'x-ratelimit-reset-requests': '30s' } });
    const tasks = Array.from({ length: 50 }, () => client({ apiKey: 'sk-shared' }));
    expect(new Set(tasks.map((t) => t.breakerName)).size).toBe(1);
    expect(await errorOf(ask(tasks[0] as LlmClient))).toBeInstanceOf(RateLimitError);
    const waits = await Promise.all(tasks.slice(1).map((t) => errorOf(ask(t))));
    for (const err of waits) {
      expect(err).toBeInstanceOf(CircuitOpenError);
      expect(err).toMatchObject({ reason: 'quota', retryAfterMs: 30_000 });
    }
    expect(fake.requests).toHaveLength(1); // one call reached the provider, not fifty
    // Another key is another pool: it is not held.
    fake.setMode('ok');
    expect((await ask(client({ apiKey: 'sk-other' }))).content).toBe('summary of "hello"');
    // After the reset, one trial goes through and the pool is open for business again.
    now += 30_000;
    expect((await ask(tasks[7] as LlmClient, 'after')).content).toBe('summary of "after"');
    expect((await ask(tasks[8] as LlmClient, 'after')).content).toBe('summary of "after"');
    expect(fake.requests).toHaveLength(4);
  });

  it('opens after the threshold, fails fast without reaching the server, and closes after a good trial', async () => {
    fake.setMode('fail');
    const llm = client();
    expect(llm.breakerName).toMatch(new RegExp(`^llm:${fake.host}#[0-9a-f]{8}$`));
    expect(llm.breakerName).not.toContain('sk-test');
    for (let i = 0; i < 3; i++) expect(await errorOf(ask(llm))).not.toBeInstanceOf(CircuitOpenError);
    expect(fake.requests).toHaveLength(3);

    now += 4_000;
    fake.setMode('ok'); // recovered, but the circuit does not know yet
    for (let i = 0; i < 10; i++) {
      const err = await errorOf(ask(llm));
      expect(err).toBeInstanceOf(CircuitOpenError);
      expect(err).toMatchObject({ retryAfterMs: 6_000, breaker: llm.breakerName });
    }
    expect(fake.requests).toHaveLength(3); // nothing reached the service while open

    now += 6_000; // half-open: one trial goes through and closes the circuit
    expect((await ask(llm, 'again')).content).toBe('summary of "again"');
    expect(fake.requests).toHaveLength(4);
    expect(breakers.breakerFor(llm.breakerName).status()).toMatchObject({
      state: 'closed',
      calls: 4,
      rejected: 10,
      timesOpened: 1,
    });
  });

  it('lets one trial through when half-open; a failed trial opens it for another recovery period', async () => {
    fake.setMode('fail');
    const llm = client({ timeoutMs: 2_000 });
    for (let i = 0; i < 3; i++) await errorOf(ask(llm));
    now += 10_000;
    fake.setMode('hang');
    const trial = errorOf(ask(llm, 'trial'));
    await new Promise((resolve) => setTimeout(resolve, 100));
    // While the trial hangs, others fail fast and come back a little later.
    const other = await errorOf(ask(llm, 'other'));
    expect(other).toBeInstanceOf(CircuitOpenError);
    expect(other).toMatchObject({ retryAfterMs: 1_000, reason: 'failures' });
    expect(await trial).toBeInstanceOf(TransientError); // timed out: a failure
    expect(fake.requests.map((r) => r.text)).toEqual(['hello', 'hello', 'hello', 'trial']);
    expect(breakers.breakerFor(llm.breakerName).status()).toMatchObject({
      state: 'open',
      remainingMs: 10_000,
      timesOpened: 2,
    });
  });
});

describe('llm.summarize', () => {
  const artifacts = () => new ArtifactStore(join(dir, 'artifacts'));
  const request = { taskId: 'sum', phaseId: 'p', stepId: 'summarize', action: 'llm.summarize' };

  async function attempt(
    input: Record<string, unknown>,
    opts: { attempt: number; heartbeatDetails?: StepHeartbeat }
  ): Promise<{ result: unknown; beats: StepHeartbeat[] }> {
    const activities = createActivities({
      actions: actionRegistry([summarizeAction(client())]),
      artifacts: artifacts(),
      workRoot: join(dir, 'work'),
      progressSignalMs: 0,
    });
    const env = new MockActivityEnvironment({
      attempt: opts.attempt,
      ...(opts.heartbeatDetails ? { heartbeatDetails: opts.heartbeatDetails } : {}),
    });
    const beats: StepHeartbeat[] = [];
    env.on('heartbeat', (d: StepHeartbeat) => beats.push(d));
    const result = await env
      .run(() => activities.runStep({ ...request, input }))
      .then(
        (r) => r,
        (e: unknown) => e
      );
    return { result, beats };
  }

  it('summarizes text by text and, after an outage, resumes at the first text not done', async () => {
    const input = { texts: ['alpha', 'beta', 'gamma', 'delta'], instruction: 'one line' };
    fake.queue('ok', 'ok', 'unavailable');
    fake.setMode('ok');
    const first = await attempt(input, { attempt: 1 });
    expect(first.result).toBeInstanceOf(ApplicationFailure);
    expect(first.result).toMatchObject({ type: 'LongrunTransient', nonRetryable: false });
    const last = first.beats.at(-1);
    expect(last).toMatchObject({ done: 2, total: 4, cursor: { next: 2 } });

    const second = await attempt(input, { attempt: 2, heartbeatDetails: last });
    expect(second.result).toMatchObject({ output: { model: 'fake-model-001', count: 4 } });
    // alpha and beta were not asked again.
    expect(fake.requests.map((r) => `${r.text}:${r.mode}`)).toEqual([
      'alpha:ok',
      'beta:ok',
      'gamma:unavailable',
      'gamma:ok',
      'delta:ok',
    ]);
    const ref = (second.result as { output: { summaries: ArtifactRef } }).output.summaries;
    expect(await artifacts().getJson<SummaryEntry[]>(ref)).toEqual(
      ['alpha', 'beta', 'gamma', 'delta'].map((t, index) => ({ index, summary: fake.summaryOf(t) }))
    );
  });

  it('fails the step permanently when the service refuses the key', async () => {
    fake.setMode('unauthorized');
    const { result } = await attempt({ texts: ['alpha'] }, { attempt: 1 });
    expect(result).toMatchObject({
      type: 'LongrunPermanent',
      nonRetryable: true,
      message: `step summarize (permanent): LLM ${fake.host} answered 401: Incorrect API key provided.`,
    });
  });

  it('asks Temporal to wait out an open circuit before the next attempt', async () => {
    fake.setMode('fail');
    for (let i = 1; i <= 3; i++) await attempt({ texts: ['alpha'] }, { attempt: i });
    now += 2_500;
    const { result } = await attempt({ texts: ['alpha'] }, { attempt: 4 });
    expect(result).toMatchObject({ type: 'LongrunTransient', nextRetryDelay: 7_500 });
    expect(fake.requests).toHaveLength(3);
  });
});
