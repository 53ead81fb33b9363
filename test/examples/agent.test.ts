/**
 * The agent example (`examples/agent/`): its spec is valid, its action module loads as a worker loads
 * it, and the task runs against a chat-completions server on loopback that drives the tools the way
 * a model would: the approval step waits for a person, then the agent reads, counts with the
 * example's own tool, writes, and answers, within its budget.
 */
import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LlmClient } from '../../src/activities/llm';
import type { ActivityDeps, AgentAction } from '../../src/activities';
import type { TaskSpecInput } from '../../src/shared/spec';
import { startFakeLlm, type FakeCall, type FakeLlm } from '../support/fake-llm';
import { useWorkerEnv } from '../support/temporal';
import { waitFor } from '../support/worker-process';

const EXAMPLE = join(__dirname, '..', '..', 'examples', 'agent');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { docsEditor } = require(join(EXAMPLE, 'actions.cjs')) as { docsEditor: AgentAction };

let fake: FakeLlm;
const model = {} as NonNullable<ActivityDeps['model']>;
beforeAll(async () => {
  fake = await startFakeLlm();
  model.client = new LlmClient({ baseUrl: fake.baseUrl, model: 'fake-model-001', timeoutMs: 5_000 });
  model.prices = { 'fake-model-*': { input: 2.5, output: 10 } };
});
const t = useWorkerEnv({ taskQueue: 'agent-example', actions: [docsEditor], model });
afterAll(() => fake?.close());

/** A model that uses the tools in order, then answers with what the tools said. */
function editor(call: FakeCall) {
  const results = call.messages.filter((m) => m.role === 'tool').map((m) => String(m.content));
  switch (results.length) {
    case 0:
      return { toolCalls: [{ name: 'read_file', arguments: { path: 'README.md' } }] };
    case 1:
      return { toolCalls: [{ name: 'count_words', arguments: { path: 'README.md' } }] };
    case 2:
      return {
        toolCalls: [
          {
            name: 'write_file',
            arguments: { path: 'README.short.md', content: '# Widget\n\nWidget groups lists.\n' },
          },
        ],
      };
    default:
      return { content: `README.md: ${results[1]}; README.short.md: 5 words` };
  }
}

it('runs the example agent: approval, then its tools, within budget', async () => {
  fake.respond(editor);
  const workspace = join(t.dir, 'workspace');
  cpSync(join(EXAMPLE, 'workspace'), workspace, { recursive: true });
  const spec = JSON.parse(readFileSync(join(EXAMPLE, 'spec.json'), 'utf8')) as TaskSpecInput;
  const edit = spec.phases[1]?.steps[0] as { input: Record<string, unknown> };
  edit.input.workspace = workspace;
  await t.longrun.start(spec);
  await waitFor('the approval', async () =>
    (await t.longrun.progress(spec.taskId)).approvals?.length ? true : undefined
  );
  expect(fake.requests).toHaveLength(0); // nothing is asked before a person agrees
  await t.longrun.approve(spec.taskId, { by: 'editor-in-chief' });

  const result = await t.longrun.result(spec.taskId);
  expect(result.state).toBe('completed');
  expect(result.outputs.edit).toMatchObject({ finished: true, turns: 4, toolCalls: 3 });
  expect((result.outputs.edit as { answer: string }).answer).toMatch(/"words":\d+/);
  expect(readFileSync(join(workspace, 'README.short.md'), 'utf8')).toContain('Widget groups lists.');
  expect(fake.requests[0]?.tools).toEqual(['read_file', 'write_file', 'list_files', 'count_words']);
  expect(result.usage).toMatchObject({ calls: 4, unpricedCalls: 0 });
  expect(result.usage?.costUsd).toBeLessThan(2);
});
