/**
 * The agent's shell, HTTP and delete tools inside `agent.run`, against a chat-completions server and
 * an HTTP server on loopback: a request's status and body reach the model, a shell command past the
 * task's shell time limit is killed with everything it started and the model is told, and
 * `delete_file` removes files but not folders.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { actionRegistry, createActivities } from '../../src/activities';
import { agentRunAction } from '../../src/activities/agent';
import { BreakerRegistry } from '../../src/activities/circuit-breakers';
import { LlmClient } from '../../src/activities/llm';
import { ArtifactStore } from '../../src/runtime/artifact-store';
import type { StepLimits, StepRequest, StepResult } from '../../src/shared/step-io';
import { startFakeLlm, type FakeCall, type FakeLlm, type FakeReply } from '../support/fake-llm';
import { processRunning } from '../support/worker-process';

let fake: FakeLlm;
let site: Server;
let siteUrl: string;
const posted: string[] = [];
let dir: string;
let ws: string;

beforeAll(async () => {
  fake = await startFakeLlm();
  site = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      if (req.method === 'POST') posted.push(body);
      if (req.url === '/missing') return res.writeHead(404).end('no such page');
      res.writeHead(200, { 'content-type': 'text/plain' }).end(`${req.method} ${req.url} ok`);
    });
  });
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
  siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await fake.close();
  await new Promise((resolve) => site.close(resolve));
});
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'longrun-agent-tools-'));
  ws = join(dir, 'ws');
  mkdirSync(join(ws, 'folder'), { recursive: true });
  fake.setMode('ok');
  fake.requests.length = 0;
  posted.length = 0;
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const toolResults = (call: FakeCall) =>
  call.messages.filter((m) => m.role === 'tool').map((m) => String(m.content));

/** Asks for each turn's tool calls in order, then answers with every tool result it saw. */
function script(turns: FakeReply['toolCalls'][]): (call: FakeCall) => FakeReply {
  return (call) => {
    const turn = call.messages.filter((m) => m.role === 'assistant').length;
    const calls = turns[turn];
    return calls ? { toolCalls: calls } : { content: toolResults(call).join('\n---\n') };
  };
}

async function runAgent(tools: string[], limits?: Partial<StepLimits['tools']>): Promise<StepResult> {
  const client = new LlmClient(
    { baseUrl: fake.baseUrl, model: 'm', timeoutMs: 5_000 },
    { breakers: new BreakerRegistry({ onTransition: null }) }
  );
  const acts = createActivities({
    actions: actionRegistry([agentRunAction]),
    artifacts: new ArtifactStore(join(dir, 'artifacts')),
    workRoot: join(dir, 'work'),
    progressSignalMs: 0,
    model: { client, prices: {} },
  });
  const request: StepRequest = {
    taskId: 't',
    phaseId: 'p',
    stepId: 'agent',
    action: 'agent.run',
    input: { goal: 'use the tools', tools, workspace: ws },
    ...(limits
      ? {
          limits: {
            idleWarningMs: 60_000,
            idlePauseMs: 120_000,
            tools: { shell: 30_000, file: 10_000, browser: 30_000, search: 30_000, ...limits },
          },
        }
      : {}),
  };
  return new MockActivityEnvironment().run(async (): Promise<StepResult> => acts.runStep(request));
}

describe('agent tools in the loop', () => {
  it('http_request hands the model the status and body, and sends a POST body', async () => {
    fake.respond(
      script([
        [
          { name: 'http_request', arguments: { url: `${siteUrl}/page` } },
          { name: 'http_request', arguments: { url: `${siteUrl}/missing` } },
          { name: 'http_request', arguments: { url: `${siteUrl}/form`, method: 'POST', body: 'a=1' } },
          { name: 'http_request', arguments: { url: 'file:///etc/passwd' } },
        ],
      ])
    );
    const result = await runAgent(['http_request']);
    const answer = String(result.output.answer).split('\n---\n');
    expect(answer[0]).toBe(JSON.stringify({ status: 200, body: 'GET /page ok' }));
    expect(answer[1]).toBe(JSON.stringify({ status: 404, body: 'no such page' }));
    expect(answer[2]).toBe(JSON.stringify({ status: 200, body: 'POST /form ok' }));
    expect(answer[3]).toMatch(/^error: arguments\.url: /); // only http(s)
    expect(posted).toEqual(['a=1']);
  });

  it('run_shell past the shell time limit kills the command and what it started, and tells the model', async () => {
    const pidFile = join(ws, 'sleeper.pid');
    fake.respond(
      script([
        [{ name: 'run_shell', arguments: { command: `sleep 30 & echo $! > ${pidFile}; wait` } }],
        [{ name: 'run_shell', arguments: { command: 'echo still here; exit 3' } }],
      ])
    );
    const started = Date.now();
    const result = await runAgent(['run_shell'], { shell: 500 });
    expect(Date.now() - started).toBeLessThan(10_000);
    const answer = String(result.output.answer).split('\n---\n');
    expect(answer[0]).toMatch(/^error: shell tool call in step agent timed out after 500ms/);
    expect(answer[1]).toBe(JSON.stringify({ exitCode: 3, stdout: 'still here\n', stderr: '' }));
    // The shell's own child is gone too: the whole process group was killed at the limit.
    const sleeper = Number(readFileSync(pidFile, 'utf8'));
    const deadline = Date.now() + 2_000;
    while (processRunning(sleeper) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(processRunning(sleeper)).toBe(false);
  });

  it('delete_file removes a file, refuses a folder and says when a file is missing', async () => {
    writeFileSync(join(ws, 'old.txt'), 'bye');
    fake.respond(
      script([
        [
          { name: 'delete_file', arguments: { path: 'old.txt' } },
          { name: 'delete_file', arguments: { path: 'folder' } },
          { name: 'delete_file', arguments: { path: 'never.txt' } },
        ],
      ])
    );
    const result = await runAgent(['delete_file']);
    const answer = String(result.output.answer).split('\n---\n');
    expect(answer[0]).toBe('deleted old.txt');
    expect(answer[1]).toBe('error: folder is a folder');
    expect(answer[2]).toMatch(/^error: .*ENOENT/);
    expect(existsSync(join(ws, 'old.txt'))).toBe(false);
    expect(existsSync(join(ws, 'folder'))).toBe(true);
  });
});
