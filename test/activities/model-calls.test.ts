/**
 * `ctx.model.chat` against a real chat-completions server on loopback and a real artifact store: calls
 * are recorded and a retry (from the server's heartbeat, or from the step's own file when the
 * heartbeat lagged behind) reuses them instead of paying again; a growing conversation is stored
 * once; usage is priced; a known quota reset ends the attempt for a durable wait.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { z } from 'zod';
import { actionRegistry, createActivities, defineAction, TransientError } from '../../src/activities';
import { LlmClient, type ChatMessage } from '../../src/activities/llm';
import { BreakerRegistry } from '../../src/activities/circuit-breakers';
import { ArtifactStore } from '../../src/runtime/artifact-store';
import type { StepHeartbeat, StepRequest, StepResult } from '../../src/shared/step-io';
import { startFakeLlm, type FakeLlm } from '../support/fake-llm';

let fake: FakeLlm;
let dir: string;

beforeAll(async () => {
  fake = await startFakeLlm();
});
afterAll(() => fake.close());
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'longrun-model-'));
  fake.setMode('ok');
  fake.respond(undefined);
  fake.requests.length = 0;
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Asks each prompt in one growing conversation; checkpoints every `every` answers; may fail once. */
const chatter = defineAction({
  name: 'test.chatter',
  description: 'asks prompts in one conversation',
  input: z.object({
    prompts: z.array(z.string()),
    every: z.number().default(1_000),
    failAfter: z.number().optional(),
  }),
  async run(ctx, input) {
    const cursor = ctx.cursor as { next: number; tip: string | null } | undefined;
    const messages: ChatMessage[] = await ctx.model.loadConversation(cursor?.tip ?? null);
    let reused = 0;
    for (let i = cursor?.next ?? 0; i < input.prompts.length; i++) {
      messages.push({ role: 'user', content: input.prompts[i] as string });
      const answer = await ctx.model.chat({ messages });
      if (answer.reused) reused++;
      messages.push(answer.message);
      if (ctx.attempt === 1 && input.failAfter === i + 1) throw new TransientError('crash after a call');
      if ((i + 1) % input.every === 0)
        ctx.checkpoint({ next: i + 1, tip: await ctx.model.saveConversation(messages) }, i + 1);
    }
    return { answers: messages.length / 2, reused };
  },
});

const PRICES = { 'fake-model-*': { input: 2, output: 8, cachedInput: 1 } };

function activities(quotaBreakers = new BreakerRegistry({ onTransition: null })) {
  const client = new LlmClient(
    { baseUrl: fake.baseUrl, apiKey: 'sk-model', model: 'm', timeoutMs: 5_000 },
    { breakers: quotaBreakers }
  );
  return createActivities({
    actions: actionRegistry([chatter]),
    artifacts: new ArtifactStore(join(dir, 'artifacts')),
    workRoot: join(dir, 'work'),
    progressSignalMs: 0,
    model: { client, prices: PRICES },
  });
}

const request = (input: Record<string, unknown>, extra: Partial<StepRequest> = {}): StepRequest => ({
  taskId: 'model-task',
  phaseId: 'p',
  stepId: 'talk',
  action: 'test.chatter',
  input,
  ...extra,
});

async function attempt(
  acts: ReturnType<typeof activities>,
  req: StepRequest,
  opts: { attempt: number; heartbeatDetails?: StepHeartbeat; activityId?: string }
): Promise<{ result: StepResult | Error; beats: StepHeartbeat[] }> {
  const env = new MockActivityEnvironment({
    attempt: opts.attempt,
    ...(opts.activityId ? { activityId: opts.activityId } : {}),
    ...(opts.heartbeatDetails ? { heartbeatDetails: opts.heartbeatDetails } : {}),
  });
  const beats: StepHeartbeat[] = [];
  env.on('heartbeat', (d: StepHeartbeat) => beats.push(d));
  const result = await env
    .run(() => acts.runStep(req))
    .then(
      (r) => r as StepResult,
      (e: unknown) => e as Error
    );
  return { result, beats };
}

const prompts = (n: number) => Array.from({ length: n }, (_, i) => `question ${i}`);

describe('ctx.model.chat', () => {
  it('reuses the calls an earlier attempt paid for, from its heartbeat, and counts every attempt', async () => {
    const acts = activities();
    const input = { prompts: prompts(5), failAfter: 3 };
    const first = await attempt(acts, request(input), { attempt: 1 });
    expect(first.result).toMatchObject({ type: 'LongrunTransient' });
    const last = first.beats.at(-1) as StepHeartbeat;
    expect(last.model?.journal.n).toBe(3);
    expect(JSON.stringify(last).length).toBeLessThan(2_048);

    const second = await attempt(acts, request(input), { attempt: 2, heartbeatDetails: last });
    expect(second.result).toMatchObject({ output: { answers: 5, reused: 3 } });
    expect(fake.billed().map((r) => r.text)).toEqual(prompts(5)); // each question paid for once
    const usage = (second.result as StepResult).usage;
    expect(usage).toMatchObject({ calls: 5, reused: 3, estimatedCalls: 0, unpricedCalls: 0 });
    const billedPrompt = fake
      .billed()
      .reduce((sum, r) => sum + Math.ceil(JSON.stringify(r.messages).length / 4), 0);
    expect(usage?.promptTokens).toBe(billedPrompt);
    expect(usage?.completionTokens).toBe(25);
    expect(usage?.costUsd).toBeCloseTo((billedPrompt * 2 + 25 * 8) / 1e6, 8);
  });

  it('reuses calls the server never heard of, from the file the step keeps in its work folder', async () => {
    const acts = activities();
    const input = { prompts: prompts(4), failAfter: 2 };
    await attempt(acts, request(input), { attempt: 1 });
    // The retry gets no heartbeat at all (the worker died before the SDK sent one).
    const second = await attempt(acts, request(input), { attempt: 2 });
    expect(second.result).toMatchObject({ output: { answers: 4, reused: 2 } });
    expect(fake.billed()).toHaveLength(4);
  });

  it('keeps reusing across checkpoints: a call answered again after a checkpoint joins the new journal', async () => {
    const acts = activities();
    // Attempt 1 checkpoints after 2 answers and dies after 5; attempt 2 reuses 3, then dies again
    // (mode change); attempt 3 must still reuse what attempts 1 and 2 paid for.
    const input = { prompts: prompts(8), every: 2, failAfter: 5 };
    const first = await attempt(acts, request(input), { attempt: 1 });
    const hb1 = first.beats.at(-1) as StepHeartbeat;
    expect(hb1).toMatchObject({ cursor: { next: 4 }, model: { journal: { n: 1 } } });
    fake.queue('ok', 'ok', 'fail');
    const second = await attempt(acts, request(input), { attempt: 2, heartbeatDetails: hb1 });
    expect(second.result).toMatchObject({ type: 'LongrunTransient' });
    const third = await attempt(acts, request(input), {
      attempt: 3,
      heartbeatDetails: second.beats.at(-1),
    });
    expect(third.result).toMatchObject({ output: { answers: 8 } });
    expect(fake.billed().map((r) => r.text)).toEqual(prompts(8));
  });

  it('stores a growing conversation once: the store grows with the new messages, not with every request', async () => {
    const acts = activities();
    const big = (i: number) => `${i}: ${'lorem ipsum '.repeat(400)}`; // about 5 KB per message
    const result = await attempt(acts, request({ prompts: Array.from({ length: 40 }, (_, i) => big(i)) }), {
      attempt: 1,
    });
    expect(result.result).toMatchObject({ output: { answers: 40 } });
    const sent = fake.requests.reduce((sum, r) => sum + r.bytes, 0);
    let stored = 0;
    const walk = (d: string): void => {
      for (const name of readdirSync(d, { withFileTypes: true })) {
        const path = join(d, name.name);
        if (name.isDirectory()) walk(path);
        else stored += statSync(path).size;
      }
    };
    walk(join(dir, 'artifacts'));
    expect(sent).toBeGreaterThan(4_000_000); // 40 requests re-sending the conversation: quadratic
    // Each message once (the last request holds all but the last answer), plus small records.
    const once = (fake.requests.at(-1)?.bytes ?? 0) + 5_000;
    expect(stored).toBeLessThan(once * 1.15);
    expect(stored).toBeLessThan(sent / 15);
  });

  it('counts estimated usage when the provider reports none, and says so', async () => {
    fake.respond(() => ({ content: 'ok', usage: null }));
    const result = await attempt(activities(), request({ prompts: ['abcd'] }), { attempt: 1 });
    expect((result.result as StepResult).usage).toMatchObject({
      calls: 1,
      estimatedCalls: 1,
      completionTokens: 1,
    });
  });

  it('ends the attempt for a durable wait when the quota resets at a known time, keeping the journal', async () => {
    const breakers = new BreakerRegistry({ onTransition: null });
    const acts = activities(breakers);
    fake.queue('ok');
    fake.setMode('rate-limit', { headers: { 'x-ratelimit-reset-requests': '40s' } });
    const first = await attempt(acts, request({ prompts: prompts(3) }), { attempt: 1 });
    expect(first.result).toMatchObject({
      output: {},
      resumeAfter: { ms: 40_500, reason: 'quota', model: { n: 1 } },
      usage: { calls: 1 },
    });
    // A second task on the same key waits without asking the provider (the pool is held open).
    const other = await attempt(acts, request({ prompts: ['other'] }, { taskId: 'other' }), { attempt: 1 });
    expect(other.result).toMatchObject({ resumeAfter: { reason: 'quota' } });
    expect(fake.requests.filter((r) => r.mode === 'rate-limit')).toHaveLength(1);

    // The next schedule (after the wait) reuses the first answer.
    fake.setMode('ok');
    const resumeAfter = (first.result as StepResult).resumeAfter;
    const next = await attempt(
      activities(),
      request({ prompts: prompts(3) }, { ...(resumeAfter?.model ? { model: resumeAfter.model } : {}) }),
      { attempt: 1, activityId: 'the next schedule' }
    );
    expect(next.result).toMatchObject({ output: { answers: 3, reused: 1 }, usage: { calls: 2, reused: 1 } });
    expect(fake.billed().map((r) => r.text)).toEqual(['question 0', 'question 1', 'question 2']);
  });

  it('retries a rate limit like any transient failure when the task opts out of quota waits', async () => {
    fake.setMode('rate-limit', { headers: { 'x-ratelimit-reset-requests': '40s' } });
    const result = await attempt(
      activities(),
      request(
        { prompts: prompts(1) },
        {
          limits: {
            idleWarningMs: 60_000,
            idlePauseMs: 120_000,
            tools: { shell: 1, file: 1, browser: 1, search: 1 },
            quotaWaitMs: 0,
          },
        }
      ),
      { attempt: 1 }
    );
    expect(result.result).toMatchObject({ type: 'LongrunTransient', nextRetryDelay: 40_000 });
  });

  it('retries a rate limit whose reset is further off than the task waits for, after the reset', async () => {
    fake.setMode('rate-limit', { headers: { 'x-ratelimit-reset-requests': '40s' } });
    const result = await attempt(
      activities(),
      request(
        { prompts: prompts(1) },
        {
          limits: {
            idleWarningMs: 60_000,
            idlePauseMs: 120_000,
            tools: { shell: 1, file: 1, browser: 1, search: 1 },
            quotaWaitMs: 10_000, // the reset is 40 s away
          },
        }
      ),
      { attempt: 1 }
    );
    expect(result.result).toMatchObject({ type: 'LongrunTransient', nextRetryDelay: 40_000 });
    expect(result.result).not.toHaveProperty('resumeAfter');
  });

  it('refuses with the variable to set when the worker has no model', async () => {
    const acts = createActivities({
      actions: actionRegistry([chatter]),
      artifacts: new ArtifactStore(join(dir, 'artifacts')),
      workRoot: join(dir, 'work'),
      progressSignalMs: 0,
    });
    const result = await attempt(acts, request({ prompts: ['x'] }), { attempt: 1 });
    expect(result.result).toMatchObject({ type: 'LongrunPermanent', nonRetryable: true });
    expect((result.result as Error).message).toContain('LONGRUN_LLM_BASE_URL');
  });

  it('stops a step with a cost budget at the first answer of a model the price table does not list', async () => {
    const acts = createActivities({
      actions: actionRegistry([chatter]),
      artifacts: new ArtifactStore(join(dir, 'artifacts')),
      workRoot: join(dir, 'work'),
      progressSignalMs: 0,
      model: {
        client: new LlmClient({ baseUrl: fake.baseUrl, model: 'm', timeoutMs: 5_000 }),
        prices: { 'other-model': { input: 1, output: 1 } },
      },
    });
    const budget = { costUsd: { left: 5, hard: 5 } };
    const { result } = await attempt(acts, request({ prompts: prompts(3) }, { budget }), { attempt: 1 });
    expect(result).toMatchObject({ type: 'LongrunPermanent', nonRetryable: true });
    expect((result as Error).message).toMatch(
      /model "fake-model-\w+" has no price in LONGRUN_LLM_PRICES, so the task's cost budget cannot count its calls/
    );
    expect(fake.billed()).toHaveLength(1);
    // Without a cost budget the same table is fine: the calls are counted as unpriced.
    const free = await attempt(acts, request({ prompts: prompts(2) }), { attempt: 1, activityId: 'free' });
    expect((free.result as StepResult).usage).toMatchObject({ unpricedCalls: 2 });
  });
});
