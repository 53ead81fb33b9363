/**
 * Tools an agent loop offers its model: a name, what it does, a zod schema for its arguments (sent
 * to the model as JSON Schema, checked before the tool runs) and the class of time limit it runs
 * under (`ctx.tool`). The built-in ones work on files inside the agent's workspace folder, run shell
 * commands there, and make HTTP requests.
 *
 * @example
 * ```ts
 * const weather = defineTool({
 *   name: 'weather', description: 'Current weather of a city', kind: 'search',
 *   input: z.object({ city: z.string() }),
 *   run: async ({ city }, { signal }) => (await fetch(`https://example.com/w?q=${city}`, { signal })).text(),
 * });
 * ```
 */
import { lstat, mkdir, readdir, readFile, readlink, realpath, rm, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, parse, relative, resolve, sep } from 'node:path';
import { z } from 'zod';
import type { ToolClass } from '../../shared/spec';
import { execLimited } from '../child-process';
import type { ToolDefinition } from '../llm/llm-client';

/** What a running tool gets. */
export interface ToolEnv {
  /** Aborts at the tool's time limit or when the step stops. */
  signal: AbortSignal;
  /** The agent's workspace folder (absolute). */
  workspace: string;
}

export interface AgentTool<S extends z.ZodType = z.ZodType> {
  name: string;
  description: string;
  /** The time limit it runs under (the task's `timeouts.tools`). */
  kind: ToolClass;
  input: S;
  /** Its result as the model reads it: text, or JSON-able data. */
  run(args: z.output<S>, env: ToolEnv): Promise<unknown>;
}

export function defineTool<S extends z.ZodType>(tool: AgentTool<S>): AgentTool<S> {
  return tool;
}

/** The tool as the chat-completions API describes it. */
export function toolDefinition(tool: AgentTool): ToolDefinition {
  const parameters = z.toJSONSchema(tool.input, { io: 'input', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  delete parameters.$schema;
  return { type: 'function', function: { name: tool.name, description: tool.description, parameters } };
}

/** Results longer than this reach the model cut, with a note saying how much was left out. */
export const MAX_TOOL_RESULT_CHARS = 20_000;

export function clip(text: string, max = MAX_TOOL_RESULT_CHARS): string {
  return text.length <= max ? text : `${text.slice(0, max)}\n[… ${text.length - max} more characters]`;
}

/** Links followed in one path at most, as the kernel does (ELOOP). */
const MAX_LINKS = 40;

const escapes = (p: string, root: string): boolean => {
  const rel = relative(root, p);
  return rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel);
};

/**
 * A path the model gave, inside the workspace, returned with every symbolic link in it resolved:
 * relative paths resolve against the workspace, and neither `..` nor a link (dangling or not, at any
 * component) may lead out of it. `keepLastLink` leaves a link at the end as it is (to delete it).
 */
export async function insideWorkspace(
  workspace: string,
  path: string,
  { keepLastLink = false }: { keepLastLink?: boolean } = {}
): Promise<string> {
  const target = resolve(workspace, path);
  if (escapes(target, resolve(workspace))) throw new Error(`path "${path}" is outside the workspace`);
  const root = await realpath(workspace);
  // Walked a component at a time as the kernel would, so `at` never holds a link and `..` is its parent.
  const rest = relative(resolve(workspace), target).split(sep).filter(Boolean);
  let at = root;
  for (let links = 0; rest.length > 0;) {
    const name = rest.shift() as string;
    const next = name === '..' ? dirname(at) : name === '.' ? at : join(at, name);
    const info = await lstat(next).catch(() => null); // missing: nothing below it can be a link
    if (!info?.isSymbolicLink() || (keepLastLink && rest.length === 0)) {
      at = next;
      continue;
    }
    if (++links > MAX_LINKS) throw new Error(`path "${path}" has too many symbolic links`);
    const link = await readlink(next);
    if (isAbsolute(link)) at = parse(link).root;
    rest.unshift(...link.split(sep).filter(Boolean));
  }
  // Only the end matters: `at` is where the tool reads or writes, every link on the way resolved.
  if (escapes(at, root)) throw new Error(`path "${path}" leads outside the workspace`);
  return at;
}

const path = z.string().min(1).max(1_000).describe('a path relative to the workspace');

export const readFileTool = defineTool({
  name: 'read_file',
  description: 'Reads a text file of the workspace.',
  kind: 'file',
  input: z.object({ path }),
  async run({ path: p }, { workspace }) {
    return clip(await readFile(await insideWorkspace(workspace, p), 'utf8'));
  },
});

export const writeFileTool = defineTool({
  name: 'write_file',
  description: 'Creates or replaces a text file of the workspace (folders are created as needed).',
  kind: 'file',
  input: z.object({ path, content: z.string().max(1_000_000) }),
  async run({ path: p, content }, { workspace }) {
    const target = await insideWorkspace(workspace, p);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, content);
    return `wrote ${Buffer.byteLength(content)} bytes to ${p}`;
  },
});

export const listFilesTool = defineTool({
  name: 'list_files',
  description: 'Lists a folder of the workspace (default: its top), folders ending in "/".',
  kind: 'file',
  input: z.object({ path: path.optional() }),
  async run({ path: p }, { workspace }) {
    const folder = await insideWorkspace(workspace, p ?? '.');
    const entries = await readdir(folder, { withFileTypes: true });
    return clip(
      entries
        .map((e) => (e.isDirectory() ? `${e.name}/` : e.name))
        .sort()
        .join('\n') || '(empty)'
    );
  },
});

export const deleteFileTool = defineTool({
  name: 'delete_file',
  description: 'Deletes a file of the workspace.',
  kind: 'file',
  input: z.object({ path }),
  async run({ path: p }, { workspace }) {
    // A link is removed itself, never what it points at.
    const target = await insideWorkspace(workspace, p, { keepLastLink: true });
    if ((await lstat(target)).isDirectory()) throw new Error(`${p} is a folder`);
    await rm(target);
    return `deleted ${p}`;
  },
});

export const shellTool = defineTool({
  name: 'run_shell',
  description: 'Runs a shell command in the workspace; returns its exit code, stdout and stderr.',
  kind: 'shell',
  input: z.object({ command: z.string().min(1).max(10_000) }),
  async run({ command }, { workspace, signal }) {
    // Its own process group (ctx.exec's runner): at the time limit the command and all it started
    // are killed, not only the shell. No secret variables: the model reads what its commands print.
    const r = await execLimited(
      'sh',
      ['-c', command],
      { cwd: workspace, maxOutputBytes: MAX_TOOL_RESULT_CHARS },
      signal
    );
    return {
      exitCode: r.code,
      ...(r.signal ? { signal: r.signal } : {}),
      stdout: clip(r.stdout),
      stderr: clip(r.stderr),
    };
  },
});

export const httpTool = defineTool({
  name: 'http_request',
  description: 'Makes an HTTP request; returns the status and the start of the body.',
  kind: 'browser',
  input: z.object({
    url: z.url({ protocol: /^https?$/ }),
    method: z.enum(['GET', 'POST', 'PUT', 'DELETE', 'HEAD']).default('GET'),
    body: z.string().max(1_000_000).optional(),
  }),
  async run({ url, method, body }, { signal }) {
    const res = await fetch(url, { method, signal, ...(body === undefined ? {} : { body }) });
    return { status: res.status, body: clip(await res.text()) };
  },
});

/** The tools `agent.run` offers by name. */
export const builtinTools: AgentTool[] = [
  readFileTool,
  writeFileTool,
  listFilesTool,
  deleteFileTool,
  shellTool,
  httpTool,
];

/** The file tools: what an agent gets when its spec names no tools. */
export const DEFAULT_TOOLS = ['read_file', 'write_file', 'list_files', 'delete_file'];
