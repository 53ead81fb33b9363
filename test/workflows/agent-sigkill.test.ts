/**
 * Durable agents end to end: real worker processes (the built worker, `agent.run` registered because
 * an LLM is configured) against a real dev server and a chat-completions server on loopback with its
 * own billing ledger. A worker is SIGKILLed in the middle of an agent loop and in the middle of a
 * quota wait; the task completes, no model request is billed twice, and the usage is exact.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LongrunClient } from '../../src/client';
import type { TaskSpecInput } from '../../src/shared/spec';
import { startFakeLlm, type FakeCall, type FakeLlm, type FakeReply } from '../support/fake-llm';
import { recordHistory, useServerAndWorkers } from '../support/temporal';
import { waitFor } from '../support/worker-process';

const TASK_QUEUE = 'agent-sigkill';
const TURNS = 10;
const t = useServerAndWorkers('agent');
let fake: FakeLlm;

beforeAll(async () => {
  fake = await startFakeLlm();
});
afterAll(() => fake.close());
afterEach(() => {
  // What the workers said: when a test ended before its first assertion (they did not start), or asked to.
  if (expect.getState().assertionCalls === 0 || process.env.LONGRUN_TEST_VERBOSE)
    for (const w of t.workers) console.log(`worker ${w.pid}:\n${w.output()}`);
});

const workerEnv = () => ({
  TEMPORAL_ADDRESS: t.env.address,
  LONGRUN_TASK_QUEUE: TASK_QUEUE,
  LONGRUN_DATA_DIR: join(t.dir, 'data'), // both workers run on this machine and share it
  LONGRUN_LLM_BASE_URL: fake.baseUrl,
  LONGRUN_LLM_API_KEY: 'sk-agent',
  LONGRUN_LLM_MODEL: 'fake-model-001',
  LONGRUN_LLM_PRICES: JSON.stringify({ 'fake-model-*': { input: 1, output: 4 } }),
  LONGRUN_PROGRESS_REPORT_MS: '1000',
});

/**
 * `TURNS` turns of a shell command that appends its number to ran.txt and then takes 0.4 s, then an
 * answer. A kill just after a new line lands inside a tool call, not in a model request: a request
 * in flight when its worker dies is the one call a provider may bill twice.
 */
function shellTurns(call: FakeCall): FakeReply {
  const done = call.messages.filter((m) => m.role === 'tool').length;
  if (done >= TURNS) return { content: `ran ${done} commands` };
  return {
    toolCalls: [{ name: 'run_shell', arguments: { command: `echo ${done} >> ran.txt && sleep 0.4` } }],
  };
}

function agentSpec(taskId: string, workspace: string): TaskSpecInput {
  return {
    v: 1,
    taskId,
    agent: 'test-agent',
    heartbeatTimeoutMs: 2_000,
    phases: [
      {
        id: 'work',
        steps: [
          {
            id: 'agent',
            action: 'agent.run',
            input: { goal: 'run the commands', tools: ['run_shell'], workspace, loopLimit: 100 },
          },
        ],
      },
    ],
  };
}

/** Every billed request asked something no earlier billed request asked. */
function expectNothingBilledTwice(): void {
  const asked = fake.billed().map((r) => JSON.stringify(r.messages));
  expect(new Set(asked).size).toBe(asked.length);
}

describe('an agent whose worker is SIGKILLed', () => {
  it('resumes at the turn it was on, pays for no answer twice and counts usage exactly', async () => {
    fake.respond(shellTurns);
    const taskId = 'agent-kill-mid-loop';
    const workspace = join(t.dir, 'ws-loop');
    const longrun = new LongrunClient(t.env.client, TASK_QUEUE);
    const first = t.spawn(workerEnv());
    await longrun.start(agentSpec(taskId, workspace));

    const ran = () =>
      existsSync(join(workspace, 'ran.txt'))
        ? readFileSync(join(workspace, 'ran.txt'), 'utf8').trim().split('\n')
        : [];
    // The usage reaches progress while the agent runs.
    const live = await waitFor('usage in progress', async () => {
      const p = await longrun.progress(taskId);
      return p.usage && p.usage.calls >= 2 ? p.usage : undefined;
    });
    expect(live.costUsd).toBeGreaterThan(0);
    await waitFor('4 commands run', () => (ran().length >= 4 ? true : undefined), 60_000, 20);
    first.child.kill('SIGKILL');
    await first.exited;
    const ranBeforeKill = ran().length;
    expect(ranBeforeKill).toBeLessThan(TURNS);

    const second = t.spawn(workerEnv());
    const result = await longrun.result(taskId);
    second.child.kill('SIGTERM');
    await second.exited;

    recordHistory(t.env, taskId, 'long-task-agent-sigkill-v4.json');
    expect(result.state).toBe('completed');
    expect(result.outputs.agent).toMatchObject({
      finished: true,
      answer: `ran ${TURNS} commands`,
      toolCalls: TURNS,
    });
    expectNothingBilledTwice();
    expect(fake.billed()).toHaveLength(TURNS + 1);
    // Every command ran; only the one in flight at the kill may have run twice.
    const lines = ran();
    expect(new Set(lines)).toEqual(new Set(Array.from({ length: TURNS }, (_, i) => String(i))));
    expect(lines.length - TURNS).toBeLessThanOrEqual(1);
    // Usage: every billed call counted once, priced (1 $/M input, 4 $/M output tokens).
    const prompt = fake
      .billed()
      .reduce((sum, r) => sum + Math.ceil(JSON.stringify(r.messages).length / 4), 0);
    expect(result.usage).toMatchObject({
      calls: TURNS + 1,
      promptTokens: prompt,
      estimatedCalls: 0,
      unpricedCalls: 0,
    });
    expect(result.usage?.costUsd).toBeCloseTo((prompt + 4 * (result.usage?.completionTokens ?? 0)) / 1e6, 8);
  });

  it('waits out a known quota reset on a durable timer, across a SIGKILL, without a failed attempt', async () => {
    fake.requests.length = 0;
    const taskId = 'agent-kill-in-quota-wait';
    const workspace = join(t.dir, 'ws-quota');
    let limited = false;
    fake.respond(shellTurns);
    const longrun = new LongrunClient(t.env.client, TASK_QUEUE);
    const first = t.spawn(workerEnv());
    await longrun.start(agentSpec(taskId, workspace));
    // After three billed answers the provider's quota runs out for 6 s.
    await waitFor('3 billed answers', () => (fake.billed().length >= 3 ? true : undefined), 60_000, 10);
    fake.setMode('rate-limit', {
      headers: { 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '6s' },
    });
    limited = true;
    const waiting = await waitFor('the step waiting for its quota', async () => {
      const p = await longrun.progress(taskId);
      return p.running?.find((r) => r.waitingFor === 'quota');
    });
    expect(waiting).toMatchObject({ id: 'agent', state: 'waiting' });
    first.child.kill('SIGKILL'); // the task holds no worker while it waits
    await first.exited;
    fake.setMode('ok');

    const second = t.spawn(workerEnv());
    const result = await longrun.result(taskId);
    // Queries need a worker: ask before stopping it.
    const failures = await longrun.client.workflow.getHandle(taskId).query<unknown[]>('failures');
    const log = (await longrun.progress(taskId)).recent.map((e) => e.message).join('\n');
    second.child.kill('SIGTERM');
    await second.exited;

    recordHistory(t.env, taskId, 'long-task-quota-wait-v4.json');
    expect(limited).toBe(true);
    expect(result.state).toBe('completed');
    expect(fake.requests.filter((r) => r.mode === 'rate-limit')).toHaveLength(1); // one probe, then a timer
    expectNothingBilledTwice();
    expect(fake.billed()).toHaveLength(TURNS + 1);
    expect(failures).toEqual([]); // a rate limit is not a failure
    expect(log).not.toMatch(/failed/);
  });
});
