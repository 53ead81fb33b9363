// An agent with a tool of its own: `example.docs-editor` is the built-in agent loop (file, shell and
// HTTP tools) plus `count_words`. Each model answer is paid for once, the loop checkpoints after every
// turn, and a crash resumes at the turn it was on. Register it with:
//   LONGRUN_LLM_BASE_URL=... LONGRUN_LLM_MODEL=... longrun worker --actions examples/agent/actions.cjs
const { readFile } = require('node:fs/promises');
const { relative, resolve } = require('node:path');
const { z } = require('zod');
const { agentAction, builtinTools, defineTool } = require('longrun');

const countWords = defineTool({
  name: 'count_words',
  description: 'Counts the words of a text file of the workspace',
  kind: 'file', // runs under the task's file-tool time limit
  input: z.object({ path: z.string().min(1) }),
  async run({ path }, { workspace }) {
    const file = resolve(workspace, path);
    if (relative(workspace, file).startsWith('..')) throw new Error(`${path} is outside the workspace`);
    const text = await readFile(file, 'utf8');
    return { path, words: text.split(/\s+/).filter(Boolean).length };
  },
});

exports.docsEditor = agentAction({
  name: 'example.docs-editor',
  description: 'Edits documents in its workspace with a model: the built-in tools plus count_words',
  tools: [...builtinTools, countWords],
});
