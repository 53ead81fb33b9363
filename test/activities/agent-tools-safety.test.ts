/**
 * What the agent's tools may not do: reach outside the workspace through a symbolic link (dangling or
 * not, at any component of the path), hand a shell command the worker's secrets, or carry a secret to
 * the model, the step's output or a pause reason.
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { actionRegistry, createActivities } from '../../src/activities';
import { agentRunAction } from '../../src/activities/agent';
import {
  deleteFileTool,
  insideWorkspace,
  listFilesTool,
  readFileTool,
  shellTool,
  writeFileTool,
} from '../../src/activities/agent/tools';
import { BreakerRegistry } from '../../src/activities/circuit-breakers';
import { LlmClient } from '../../src/activities/llm';
import { ArtifactStore } from '../../src/runtime/artifact-store';
import { registerSecrets } from '../../src/runtime/secrets';
import type { StepRequest, StepResult } from '../../src/shared/step-io';
import { startFakeLlm, type FakeCall, type FakeLlm } from '../support/fake-llm';

let dir: string;
let ws: string;
let outside: string;
const env = () => ({ signal: new AbortController().signal, workspace: ws });

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'longrun-tools-'));
  ws = join(dir, 'ws');
  outside = join(dir, 'outside');
  mkdirSync(join(ws, 'sub'), { recursive: true });
  mkdirSync(outside);
  writeFileSync(join(outside, 'secret.txt'), 'outside secret');
  writeFileSync(join(ws, 'real.txt'), 'inside');
  symlinkSync(join(outside, 'new.txt'), join(ws, 'dangling')); // dangling, absolute
  symlinkSync('../outside/nodir', join(ws, 'dangling-dir')); // dangling, relative, to a folder
  symlinkSync(join(outside, 'secret.txt'), join(ws, 'secret-link'));
  symlinkSync('../../outside/secret.txt', join(ws, 'sub', 'rel-link'));
  symlinkSync(outside, join(ws, 'outdir'));
  symlinkSync('hop2', join(ws, 'hop1')); // a chain that ends outside
  symlinkSync('outdir/secret.txt', join(ws, 'hop2'));
  symlinkSync('real.txt', join(ws, 'ok'));
  symlinkSync(join(ws, 'sub'), join(ws, 'okdir'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('file tools and symbolic links', () => {
  it('refuses writes through a link leading outside, dangling or not, and creates nothing there', async () => {
    for (const path of [
      'dangling',
      'dangling-dir/x.txt',
      'secret-link',
      'sub/rel-link',
      'outdir/new.txt',
      'hop1',
    ]) {
      await expect(writeFileTool.run({ path, content: 'pwned' }, env())).rejects.toThrow(
        `path "${path}" leads outside the workspace`
      );
    }
    expect(existsSync(join(outside, 'new.txt'))).toBe(false);
    expect(existsSync(join(outside, 'nodir'))).toBe(false);
    expect(readFileSync(join(outside, 'secret.txt'), 'utf8')).toBe('outside secret');
  });

  it('refuses reads and listings through a link leading outside', async () => {
    for (const path of ['secret-link', 'sub/rel-link', 'outdir/secret.txt', 'hop1', 'hop2', 'dangling'])
      await expect(readFileTool.run({ path }, env())).rejects.toThrow('leads outside the workspace');
    await expect(listFilesTool.run({ path: 'outdir' }, env())).rejects.toThrow('leads outside the workspace');
    await expect(listFilesTool.run({ path: 'outdir/.' }, env())).rejects.toThrow(
      'leads outside the workspace'
    );
  });

  it('deletes a link itself, never what it points at', async () => {
    await expect(deleteFileTool.run({ path: 'secret-link' }, env())).resolves.toBe('deleted secret-link');
    expect(existsSync(join(ws, 'secret-link'))).toBe(false);
    expect(readFileSync(join(outside, 'secret.txt'), 'utf8')).toBe('outside secret');
    await expect(deleteFileTool.run({ path: 'outdir/secret.txt' }, env())).rejects.toThrow('leads outside');
    expect(existsSync(join(outside, 'secret.txt'))).toBe(true);
  });

  it('follows links that stay inside', async () => {
    await expect(readFileTool.run({ path: 'ok' }, env())).resolves.toBe('inside');
    await writeFileTool.run({ path: 'okdir/new/a.txt', content: 'hi' }, env());
    expect(readFileSync(join(ws, 'sub', 'new', 'a.txt'), 'utf8')).toBe('hi');
    await expect(listFilesTool.run({ path: 'okdir' }, env())).resolves.toBe('new/\nrel-link');
    await expect(insideWorkspace(ws, 'missing/deeper/file.txt')).resolves.toMatch(/missing[/\\]deeper/);
  });
});

describe('shell tool environment', () => {
  const marker = 'sk-marker-do-not-leak-1234';
  const other = 'another-registered-secret-5678';
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('runs commands without the worker secrets', async () => {
    registerSecrets([marker, other]);
    process.env.LONGRUN_LLM_API_KEY = marker;
    process.env.TEMPORAL_API_KEY = 'temporal-key-not-registered';
    process.env.MY_COPY_OF_A_SECRET = other;
    process.env.HARMLESS_VARIABLE = 'plain value';
    const out = (await shellTool.run({ command: 'env; printenv LONGRUN_LLM_API_KEY' }, env())) as {
      stdout: string;
    };
    expect(out.stdout).not.toContain(marker);
    expect(out.stdout).not.toContain(other);
    expect(out.stdout).not.toContain('temporal-key-not-registered');
    expect(out.stdout).toContain('HARMLESS_VARIABLE=plain value');
    expect(out.stdout).toContain('PATH=');
  });
});

describe('agent.run and secrets', () => {
  const marker = 'sk-agent-marker-0000-1111';
  let fake: FakeLlm;
  beforeAll(async () => {
    fake = await startFakeLlm();
    registerSecrets([marker]);
  });
  afterAll(() => fake.close());
  beforeEach(() => {
    fake.setMode('ok');
    fake.requests.length = 0;
  });

  const run = async (input: Record<string, unknown>): Promise<StepResult> => {
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
    const request: StepRequest = { taskId: 't', phaseId: 'p', stepId: 'agent', action: 'agent.run', input };
    return new MockActivityEnvironment().run(async (): Promise<StepResult> => acts.runStep(request));
  };
  const toolResults = (call: FakeCall) =>
    call.messages.filter((m) => m.role === 'tool').map((m) => String(m.content));

  it('redacts secrets in tool results and in the answer', async () => {
    writeFileSync(join(ws, 'config.txt'), `key=${marker}`);
    fake.respond((call) =>
      toolResults(call).length === 0
        ? { toolCalls: [{ name: 'read_file', arguments: { path: 'config.txt' } }] }
        : { content: `the key is ${marker}; the tool said: ${toolResults(call).join('')}` }
    );
    const result = await run({ goal: 'find the key', workspace: ws });
    expect(fake.requests[1]?.messages).toContainEqual(expect.objectContaining({ content: 'key=[redacted]' }));
    expect(result.output.answer).toBe('the key is [redacted]; the tool said: key=[redacted]');
    expect(JSON.stringify(result)).not.toContain(marker);
  });

  it('redacts secrets in the loop-detection pause reason', async () => {
    fake.respond(() => ({ toolCalls: [{ name: 'list_files', arguments: { path: marker } }] }));
    const result = await run({ goal: 'loop', loopLimit: 2, workspace: ws });
    expect(result.pause?.reason).toContain('agent loop detected: list_files({"path":"[redacted]"})');
    expect(JSON.stringify(result)).not.toContain(marker);
  });
});
