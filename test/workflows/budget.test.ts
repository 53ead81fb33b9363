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
});
