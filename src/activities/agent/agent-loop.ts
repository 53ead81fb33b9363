/**
 * The agent loop (`agent.run`): an OpenAI-compatible tool-calling loop. Each turn asks the model
 * (through `ctx.model`, so an answer is paid for once) and runs the tools it called; the step
 * checkpoints after every answer and every tool result, its cursor a reference to the conversation
 * stored once in the artifact store. A crash resumes at the turn it was on, with that turn's answer
 * reused. The same tool calls asked for `loopLimit` turns in a row pause the task instead of burning
 * tokens. What the model and the tools say is redacted of the worker's secrets before it goes on.
 *
 * @example
 * ```ts
 * const reviewer = agentAction({ name: 'my.reviewer', tools: [...builtinTools, myTool] });
 * ```
 */
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { defineAction, type AgentAction } from '../action';
import type { ChatMessage, ToolCall } from '../llm/llm-client';
import type { StepContext } from '../step-context';
import { redactSecrets } from '../../runtime/secrets';
import { issuesOf } from '../../shared/validation';
import { builtinTools, clip, DEFAULT_TOOLS, toolDefinition, type AgentTool } from './tools';

/** Where an agent is: its turn and conversation (by reference), and the calls it keeps repeating. */
export interface AgentCursor {
  turn: number;
  /** The conversation so far (`ctx.model.saveConversation`). */
  tip: string | null;
  toolCalls: number;
  repeat: { signature: string; count: number };
}

/** Longest answer kept in the step's output; the whole one is in the conversation. */
const MAX_ANSWER_CHARS = 4_000;

function inputSchema(toolNames: readonly [string, ...string[]]) {
  return z.strictObject({
    /** What the agent is asked to do (the first user message). */
    goal: z.string().min(1).max(200_000),
    /** The system prompt. */
    system: z.string().max(200_000).optional(),
    /** @default the worker's model (`LONGRUN_LLM_MODEL`) */
    model: z.string().min(1).max(200).optional(),
    /** Tools it may call, by name. @default the file tools */
    tools: z.array(z.enum(toolNames)).max(100).optional(),
    /** Model answers it may take; then it stops (`onTurnLimit`). */
    maxTurns: z.number().int().min(1).max(10_000).default(50),
    /** `finish`: the step completes with `finished: false`; `fail`: the step fails. */
    onTurnLimit: z.enum(['finish', 'fail']).default('finish'),
    /** The same tool calls this many turns in a row pause the task. */
    loopLimit: z.number().int().min(2).max(1_000).default(3),
    /** The folder its file and shell tools work in. @default `<step work folder>/workspace` */
    workspace: z.string().min(1).max(4_096).optional(),
    maxTokens: z.number().int().min(1).max(1_000_000).optional(),
    temperature: z.number().min(0).max(2).optional(),
  });
}

/**
 * The tool calls of one answer, compared across turns: a digest of names and arguments, whitespace
 * aside. A digest because it is kept in the cursor, which rides every heartbeat: a `write_file` of
 * a megabyte must not. (A cursor from before held the text: it differs once, and counts afresh.)
 */
function signatureOf(calls: readonly ToolCall[]): string {
  const canonical = JSON.stringify(
    calls.map((c) => {
      try {
        return [c.function.name, JSON.parse(c.function.arguments) as unknown];
      } catch {
        return [c.function.name, c.function.arguments];
      }
    })
  );
  return createHash('sha256').update(canonical).digest('hex');
}

/** Tool calls of the last answer that have no result yet. */
function pendingCalls(messages: readonly ChatMessage[]): ToolCall[] {
  let i = messages.length - 1;
  const answered = new Set<string>();
  for (; i >= 0 && messages[i]?.role === 'tool'; i--)
    answered.add((messages[i] as { tool_call_id: string }).tool_call_id);
  const answer = messages[i];
  if (answer?.role !== 'assistant') return [];
  return (answer.tool_calls ?? []).filter((c) => !answered.has(c.id));
}

/** Runs one tool call; whatever goes wrong is the model's to read, except the step being stopped. */
async function runTool(
  ctx: StepContext,
  tools: ReadonlyMap<string, AgentTool>,
  call: ToolCall,
  workspace: string
): Promise<string> {
  const tool = tools.get(call.function.name);
  if (!tool) return `error: there is no tool "${call.function.name}"; tools: ${[...tools.keys()].join(', ')}`;
  let args: unknown;
  try {
    args = JSON.parse(call.function.arguments || '{}');
  } catch {
    return `error: the arguments are not JSON: ${clip(call.function.arguments, 200)}`;
  }
  const parsed = tool.input.safeParse(args);
  if (!parsed.success) {
    return `error: ${issuesOf(parsed.error, 'arguments')
      .map((i) => `${i.path}: ${i.rule}`)
      .join('; ')}`;
  }
  try {
    const out = await ctx.tool(tool.kind, (signal) => tool.run(parsed.data, { signal, workspace }));
    return typeof out === 'string' ? out : clip(redactSecrets(JSON.stringify(out)));
  } catch (err) {
    if (ctx.signal.aborted) throw err;
    return `error: ${err instanceof Error ? err.message : String(err)}`;
  }
}

export interface AgentActionOptions {
  name: string;
  description?: string;
  /** The tools a spec may name. @default builtinTools */
  tools?: readonly AgentTool[];
}

/** An agent-loop action with its own tools (the built-in `agent.run` has `builtinTools`). */
export function agentAction(options: AgentActionOptions): AgentAction {
  const registry = new Map((options.tools ?? builtinTools).map((t) => [t.name, t]));
  const names = [...registry.keys()];
  if (names.length === 0) throw new Error(`agent action "${options.name}" needs at least one tool`);
  const input = inputSchema(names as [string, ...string[]]);
  const defaults = DEFAULT_TOOLS.filter((n) => registry.has(n));
  return defineAction({
    name: options.name,
    description:
      options.description ??
      `Tool-calling agent loop: ${names.join(', ')}; a checkpoint after every turn, each answer paid for once`,
    input,
    async run(ctx, spec) {
      const workspace = spec.workspace ? resolve(spec.workspace) : join(ctx.workDir, 'workspace');
      await mkdir(workspace, { recursive: true });
      const offered = new Map(
        (spec.tools ?? (defaults.length ? defaults : names)).map((n) => [n, registry.get(n) as AgentTool])
      );
      const definitions = [...offered.values()].map(toolDefinition);
      const at = ctx.cursor as AgentCursor | undefined;
      const messages: ChatMessage[] = at
        ? await ctx.model.loadConversation(at.tip)
        : [
            ...(spec.system ? [{ role: 'system' as const, content: spec.system }] : []),
            { role: 'user', content: spec.goal },
          ];
      let { turn, toolCalls, repeat } = at ?? { turn: 0, toolCalls: 0, repeat: { signature: '', count: 0 } };
      const save = async (note: string): Promise<void> => {
        const tip = await ctx.model.saveConversation(messages);
        ctx.checkpoint(
          { turn, tip, toolCalls, repeat } satisfies AgentCursor,
          turn,
          spec.maxTurns,
          redactSecrets(note)
        );
      };

      for (;;) {
        const pending = pendingCalls(messages);
        if (pending.length > 0) {
          for (const call of pending) {
            // A tool can read a secret (a file, a response): the model must not see it.
            const content = redactSecrets(await runTool(ctx, offered, call, workspace));
            messages.push({ role: 'tool', tool_call_id: call.id, content });
            toolCalls++;
            await save(`turn ${turn}: ${call.function.name}`);
          }
          continue;
        }
        const last = messages[messages.length - 1] as ChatMessage;
        if (last.role === 'assistant') {
          const answer = last.content ?? '';
          return {
            finished: true,
            answer: clip(redactSecrets(answer), MAX_ANSWER_CHARS),
            turns: turn,
            toolCalls,
            conversation: await ctx.model.saveConversation(messages),
            workspace,
          };
        }
        if (turn >= spec.maxTurns) {
          const why = `agent reached its turn limit (${spec.maxTurns}) before it answered`;
          if (spec.onTurnLimit === 'fail') throw new Error(why);
          return {
            finished: false,
            reason: why,
            turns: turn,
            toolCalls,
            conversation: await ctx.model.saveConversation(messages),
            workspace,
          };
        }
        const answer = await ctx.model.chat({
          messages,
          tools: definitions,
          ...(spec.model ? { model: spec.model } : {}),
          ...(spec.maxTokens === undefined ? {} : { maxTokens: spec.maxTokens }),
          ...(spec.temperature === undefined ? {} : { temperature: spec.temperature }),
        });
        turn++;
        messages.push(answer.message);
        const signature = answer.toolCalls.length ? signatureOf(answer.toolCalls) : '';
        repeat =
          signature && signature === repeat.signature
            ? { signature, count: repeat.count + 1 }
            : { signature, count: signature ? 1 : 0 };
        if (repeat.count >= spec.loopLimit) {
          // Redacted before it is cut: a cut secret would no longer be found.
          const calls = clip(
            redactSecrets(
              answer.toolCalls.map((c) => `${c.function.name}(${c.function.arguments})`).join(', ')
            ),
            300
          );
          // Resumed, it runs these calls and counts afresh: the person who resumed it decided so.
          repeat = { signature, count: 0 };
          await save(`turn ${turn}: loop detected`);
          ctx.pauseTask(`agent loop detected: ${calls} asked for ${spec.loopLimit} turns in a row`);
        }
        await save(
          `turn ${turn}: ${answer.toolCalls.map((c) => c.function.name).join(', ') || 'answered'}${answer.reused ? ' (reused)' : ''}`
        );
      }
    },
  });
}

/** The built-in agent loop: files in its workspace, shell commands and HTTP requests. */
export const agentRunAction = agentAction({ name: 'agent.run' });
