/**
 * A task's model budget on a real dev server, with `agent.run` against a chat-completions server on
 * loopback: the soft threshold warns (log and `task.budget` webhook), the hard one pauses the task
 * before the call that would spend past it, resume is refused until `extend` raises the budget, and
 * then the agent goes on from its turn with nothing billed twice.
 */
import { LongrunClient } from '../../src/client';
import { agentRunAction } from '../../src/activities/agent';
import { LlmClient } from '../../src/activities/llm';
import type { ActivityDeps } from '../../src/activities';
import type { TaskSpecInput } from '../../src/shared/spec';
import { startFakeLlm, type FakeCall, type FakeLlm } from '../support/fake-llm';
import { recordHistory, useWorkerEnv } from '../support/temporal';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver';
import { waitFor } from '../support/worker-process';

const TASK_QUEUE = 'budget-test';
let fake: FakeLlm;
let hooks: WebhookReceiver;
const model = {} as NonNullable<ActivityDeps['model']>;
beforeAll(async () => {
  fake = await startFakeLlm();
  hooks = await startWebhookReceiver();
  model.client = new LlmClient({ baseUrl: fake.baseUrl, model: 'fake-model-001', timeoutMs: 5_000 });
  model.prices = { 'fake-model-*': { input: 1, output: 4 } };
});
const t = useWorkerEnv({ taskQueue: TASK_QUEUE, actions: [agentRunAction], model, progressSignalMs: 1_000 });
afterAll(async () => {
  await hooks?.close();
  await fake?.close();
});

const TURNS = 8;
function listTurns(call: FakeCall) {
  const done = call.messages.filter((m) => m.role === 'tool').length;
  return done >= TURNS
    ? { content: `looked ${done} times` }
    : { toolCalls: [{ name: 'list_files', arguments: { path: `.`, round: done } }] };
}

describe('a model budget', () => {
  it('warns at the soft threshold, pauses at the hard one, and goes on once extended', async () => {
    fake.respond(listTurns);
    const taskId = 'budget-calls';
    const spec: TaskSpecInput = {
      v: 1,
      taskId,
      agent: 'budget-test',
      budget: { calls: { soft: 2, hard: 4 }, costUsd: 1 },
      webhooks: [{ url: hooks.url, events: ['task.budget', 'task.paused'] }],
      phases: [
        {
          id: 'p',
          steps: [{ id: 'agent', action: 'agent.run', input: { goal: 'look around', loopLimit: 100 } }],
        },
      ],
    };
    const longrun = new LongrunClient(t.env.client, TASK_QUEUE);
    await longrun.start(spec);
    const paused = await waitFor('the task paused at its budget', async () => {
      const p = await longrun.progress(taskId);
      return p.state === 'paused' ? p : undefined;
    });
    expect(fake.billed()).toHaveLength(4); // not one call past the hard limit
    expect(paused.usage).toMatchObject({ calls: 4, estimatedCalls: 0 });
    expect(paused.budget?.find((b) => b.dimension === 'calls')).toMatchObject({ used: 4, soft: 2, hard: 4 });
    expect(paused.budget?.find((b) => b.dimension === 'costUsd')).toMatchObject({ soft: 0.8, hard: 1 });
    const log = paused.recent.map((e) => e.message).join('\n');
    expect(log).toContain('budget warning: 2 model calls used, warn at 2 model calls of 4 model calls');
    expect(log).toContain('budget: 4 model calls used of 4 model calls');

    const events = await hooks.waitFor(3);
    const types = events.map((e) => JSON.parse(e.body) as { type: string; data: Record<string, unknown> });
    expect(types.filter((e) => e.type === 'task.budget').map((e) => e.data.level)).toEqual([
      'warning',
      'limit',
    ]);
    expect(types.find((e) => e.type === 'task.paused')?.data.reason).toBe(
      'budget: 4 model calls used of 4 model calls'
    );

    await expect(longrun.resume(taskId)).rejects.toThrow(/paused at its limit \(budget: 4 model calls used/);
    await expect(longrun.extend(taskId, { budget: { calls: 3 } })).rejects.toThrow(
      /budget.calls: must be above the 4 already used/
    );
    await expect(longrun.extend(taskId, { budget: { tokens: 10 } })).rejects.toThrow(
      /no tokens budget to raise/
    );
    const extended = await longrun.extend(taskId, { budget: { calls: 20 }, reason: 'worth it' });
    expect(extended.budget?.find((b) => b.dimension === 'calls')).toMatchObject({ soft: 10, hard: 20 });
    await longrun.resume(taskId);
    const result = await longrun.result(taskId);
    recordHistory(t.env, taskId, 'long-task-budget-pause-v4.json');
    expect(result.state).toBe('completed');
    expect(result.outputs.agent).toMatchObject({ finished: true, answer: `looked ${TURNS} times` });
    expect(fake.billed()).toHaveLength(TURNS + 1);
    const asked = fake.billed().map((r) => JSON.stringify(r.messages));
    expect(new Set(asked).size).toBe(asked.length);
    expect(result.usage).toMatchObject({ calls: TURNS + 1 });
  });

  it('pauses at a tokens budget and then at a cost budget, counts each step apart, and bills nothing twice', async () => {
    // Every answer: 1,000 prompt and 100 completion tokens, $0.0014 at $1/$4 per million.
    const usage = { prompt: 1_000, completion: 100 };
    fake.respond((call) => {
      const goal = String(call.messages.find((m) => m.role === 'user')?.content);
      const done = call.messages.filter((m) => m.role === 'tool').length;
      const turns = goal === 'plan' ? 1 : 6;
      return done >= turns
        ? { content: `${goal}: done after ${done}`, usage }
        : { toolCalls: [{ name: 'list_files', arguments: { path: '.', round: done } }], usage };
    });
    const taskId = 'budget-tokens-cost';
    const spec: TaskSpecInput = {
      v: 1,
      taskId,
      agent: 'budget-test',
      budget: { tokens: { soft: 2_000, hard: 4_000 }, costUsd: { hard: 0.008 } },
      phases: [
        {
          id: 'p',
          steps: [
            { id: 'plan', action: 'agent.run', input: { goal: 'plan', loopLimit: 100 } },
            { id: 'act', action: 'agent.run', input: { goal: 'act', loopLimit: 100 } },
          ],
        },
      ],
    };
    const longrun = new LongrunClient(t.env.client, TASK_QUEUE);
    const billedBefore = fake.billed().length;
    const billed = () => fake.billed().slice(billedBefore);
    await longrun.start(spec);
    const pausedAt = async (what: string) =>
      waitFor(what, async () => {
        const p = await longrun.progress(taskId);
        return p.state === 'paused' ? p : undefined;
      });

    // 4 calls are 4,400 tokens: at the 4,000 hard limit, so the 5th is not made.
    const tokens = await pausedAt('the task paused at its tokens budget');
    expect(billed()).toHaveLength(4);
    expect(tokens.usage).toMatchObject({ calls: 4, promptTokens: 4_000, completionTokens: 400 });
    expect(tokens.budget?.find((b) => b.dimension === 'tokens')).toMatchObject({ used: 4_400, hard: 4_000 });
    expect(tokens.usageByStep?.plan).toMatchObject({ calls: 2, promptTokens: 2_000 });
    expect(tokens.usageByStep?.act).toMatchObject({ calls: 2, promptTokens: 2_000 });
    expect(tokens.running?.find((r) => r.id === 'act')?.usage).toMatchObject({ calls: 2 });
    expect(tokens.recent.map((e) => e.message).join('\n')).toContain('budget warning: 2200 tokens used');

    await longrun.extend(taskId, { budget: { tokens: 7_000 } }); // warn at 3,500, as the spec's half
    await longrun.resume(taskId);
    // Calls 5 and 6 cost $0.0084 in all: past the $0.008 limit, so the 7th waits.
    const cost = await pausedAt('the task paused at its cost budget');
    expect(billed()).toHaveLength(6);
    expect(cost.usage?.costUsd).toBeCloseTo(0.0084, 8);
    expect(cost.budget?.find((b) => b.dimension === 'costUsd')).toMatchObject({ hard: 0.008 });
    expect(cost.recent.map((e) => e.message).join('\n')).toMatch(/budget: \$0\.01 used of \$0\.01/);
    // 6,600 tokens: past the raised budget's warning threshold, not yet at its limit.
    expect(cost.warnings).toContain(
      'the tokens budget is past its warning threshold: 6600 tokens used of 7000 tokens'
    );
    expect(cost.budget?.find((b) => b.dimension === 'tokens')).toMatchObject({ soft: 3_500, hard: 7_000 });

    await longrun.extend(taskId, { budget: { costUsd: 1, tokens: 100_000 } });
    await longrun.resume(taskId);
    const result = await longrun.result(taskId);
    expect(result.state).toBe('completed');
    expect(result.outputs.act).toMatchObject({ finished: true, answer: 'act: done after 6' });
    expect(billed()).toHaveLength(9); // plan: 2 answers, act: 7; none asked twice
    const asked = billed().map((r) => JSON.stringify(r.messages));
    expect(new Set(asked).size).toBe(asked.length);
    expect(result.usage).toMatchObject({ calls: 9, reused: 0, promptTokens: 9_000, completionTokens: 900 });
    expect(result.usage?.costUsd).toBeCloseTo(0.0126, 8);
    expect(result.usageByStep).toEqual({
      plan: expect.objectContaining({ calls: 2, promptTokens: 2_000, completionTokens: 200 }),
      act: expect.objectContaining({ calls: 7, promptTokens: 7_000, completionTokens: 700 }),
    });
    expect(result.usageByStep?.act?.costUsd).toBeCloseTo(0.0098, 8);
  });
});
