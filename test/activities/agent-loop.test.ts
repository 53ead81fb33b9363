/**
 * `agent.run` against a real chat-completions server on loopback that answers with tool calls: it runs
 * the tools in its workspace, checkpoints every turn, resumes a failed attempt at its turn without
 * asking the model again, keeps tools inside the workspace, and pauses the task on a loop.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { actionRegistry, createActivities } from '../../src/activities';
import { agentRunAction } from '../../src/activities/agent';
import { LlmClient } from '../../src/activities/llm';
import { BreakerRegistry } from '../../src/activities/circuit-breakers';
import { ArtifactStore } from '../../src/runtime/artifact-store';
import type { StepHeartbeat, StepRequest, StepResult } from '../../src/shared/step-io';
import { startFakeLlm, type FakeCall, type FakeLlm, type FakeReply } from '../support/fake-llm';

let fake: FakeLlm;
let dir: string;

beforeAll(async () => {
  fake = await startFakeLlm();
});
afterAll(() => fake.close());
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'longrun-agent-'));
  fake.setMode('ok');
  fake.requests.length = 0;
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function activities() {
  const client = new LlmClient(
    { baseUrl: fake.baseUrl, model: 'm', timeoutMs: 5_000 },
    { breakers: new BreakerRegistry({ onTransition: null }) }
  );
  return createActivities({
    actions: actionRegistry([agentRunAction]),
    artifacts: new ArtifactStore(join(dir, 'artifacts')),
    workRoot: join(dir, 'work'),
    progressSignalMs: 0,
    model: { client, prices: {} },
  });
}

const request = (input: Record<string, unknown>): StepRequest => ({
  taskId: 'agent-task',
  phaseId: 'p',
  stepId: 'agent',
  action: 'agent.run',
  input,
});

async function attempt(
  input: Record<string, unknown>,
  opts: { attempt: number; heartbeatDetails?: StepHeartbeat } = { attempt: 1 }
): Promise<{ result: StepResult | Error; beats: StepHeartbeat[] }> {
  const env = new MockActivityEnvironment({
    attempt: opts.attempt,
    ...(opts.heartbeatDetails ? { heartbeatDetails: opts.heartbeatDetails } : {}),
  });
  const beats: StepHeartbeat[] = [];
  env.on('heartbeat', (d: StepHeartbeat) => beats.push(d));
  const acts = activities();
  const result = await env
    .run(() => acts.runStep(request(input)))
    .then(
      (r) => r as StepResult,
      (e: unknown) => e as Error
    );
  return { result, beats };
}

/** Tool results the model has seen so far. */
const toolResults = (call: FakeCall) =>
  call.messages.filter((m) => m.role === 'tool').map((m) => String(m.content));

/** Writes notes.txt, reads it back, then answers with what it read. */
function writeThenRead(call: FakeCall): FakeReply {
  const seen = toolResults(call);
  if (seen.length === 0)
    return { toolCalls: [{ name: 'write_file', arguments: { path: 'notes/a.txt', content: 'hello' } }] };
  if (seen.length === 1) return { toolCalls: [{ name: 'read_file', arguments: { path: 'notes/a.txt' } }] };
  return { content: `the file says ${seen[1]}` };
}

describe('agent.run', () => {
  it('runs the tools the model calls in its workspace and answers', async () => {
    fake.respond(writeThenRead);
    const { result, beats } = await attempt({ goal: 'write and read a note', system: 'be brief' });
    expect(result).toMatchObject({
      output: { finished: true, answer: 'the file says hello', turns: 3, toolCalls: 2 },
      usage: { calls: 3, reused: 0 },
    });
    const workspace = (result as StepResult).output.workspace as string;
    expect(readFileSync(join(workspace, 'notes', 'a.txt'), 'utf8')).toBe('hello');
    expect(fake.requests[0]?.messages[0]).toEqual({ role: 'system', content: 'be brief' });
    expect(fake.requests[0]?.tools).toEqual(['read_file', 'write_file', 'list_files', 'delete_file']);
    // A checkpoint per answer and per tool result; the cursor holds a reference, not the texts.
    const cursor = beats.at(-1)?.cursor as { turn: number; tip: string };
    expect(cursor).toMatchObject({ turn: 3, toolCalls: 2, tip: expect.stringMatching(/^[0-9a-f]{64}$/) });
  });

  it('resumes a failed attempt at its turn: no answer asked again, no tool run again', async () => {
    fake.respond(writeThenRead);
    fake.queue('ok', 'ok', 'fail');
    const first = await attempt({ goal: 'go' });
    expect(first.result).toMatchObject({ type: 'LongrunTransient' });
    const second = await attempt({ goal: 'go' }, { attempt: 2, heartbeatDetails: first.beats.at(-1) });
    expect(second.result).toMatchObject({ output: { finished: true, turns: 3, toolCalls: 2 } });
    expect(fake.billed()).toHaveLength(3);
  });

  it('keeps file tools inside the workspace and hands tool errors to the model', async () => {
    fake.respond((call) =>
      toolResults(call).length === 0
        ? {
            toolCalls: [
              { name: 'write_file', arguments: { path: '../../escape.txt', content: 'x' } },
              { name: 'read_file', arguments: {} },
              { name: 'no_such_tool', arguments: {} },
            ],
          }
        : { content: toolResults(call).join(' | ') }
    );
    const { result } = await attempt({ goal: 'escape' });
    const answer = (result as StepResult).output.answer as string;
    expect(answer).toContain('error: path "../../escape.txt" is outside the workspace');
    expect(answer).toContain('error: arguments.path: ');
    expect(answer).toContain('error: there is no tool "no_such_tool"');
    expect(existsSync(join(dir, 'work', 'escape.txt'))).toBe(false);
  });

  it('pauses the task when the model asks for the same tool call turn after turn', async () => {
    fake.respond(() => ({ toolCalls: [{ name: 'list_files', arguments: {} }] }));
    const { result } = await attempt({ goal: 'loop', loopLimit: 4 });
    expect(result).toMatchObject({
      output: {},
      pause: {
        reason: expect.stringContaining('agent loop detected: list_files({}) asked for 4 turns in a row'),
        cursor: { turn: 4, repeat: { count: 0 } },
      },
    });
    expect(fake.billed()).toHaveLength(4);
  });

  it('keeps its cursor small when the tools it calls carry a lot (a 1 MB file written again and again)', async () => {
    const content = 'x'.repeat(1024 * 1024);
    fake.respond(() => ({ toolCalls: [{ name: 'write_file', arguments: { path: 'big.txt', content } }] }));
    const { result, beats } = await attempt({ goal: 'write a big file', loopLimit: 2 });
    // Seen as the same call twice (from a digest of it), so the task pauses with a short reason.
    expect(result).toMatchObject({
      pause: { reason: expect.stringContaining('agent loop detected: write_file('), cursor: { turn: 2 } },
    });
    const pause = (result as StepResult).pause!;
    expect(pause.reason.length).toBeLessThan(500);
    expect(JSON.stringify(pause).length).toBeLessThan(2048);
    expect(beats.length).toBeGreaterThan(0);
    for (const beat of beats) expect(JSON.stringify(beat).length).toBeLessThan(2048);
  });

  it('stops at the turn limit and says so', async () => {
    fake.respond(() => ({ toolCalls: [{ name: 'list_files', arguments: { path: `.` } }] }));
    const { result } = await attempt({ goal: 'forever', maxTurns: 2, loopLimit: 10 });
    expect(result).toMatchObject({
      output: { finished: false, turns: 2, reason: expect.stringContaining('turn limit (2)') },
    });
  });

  it('refuses a tool the action does not have, naming the field', async () => {
    const { result } = await attempt({ goal: 'x', tools: ['read_file', 'teleport'] });
    expect(result).toMatchObject({ type: 'LongrunInvalidInput', nonRetryable: true });
    expect((result as Error).message).toContain('input.tools[1]');
    expect(fake.requests).toHaveLength(0);
  });
});
