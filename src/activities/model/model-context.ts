/**
 * `ctx.model`: model calls that are paid for once. Each answered call is recorded in the artifact
 * store and joins the step's journal (the calls since its last checkpoint), which travels in the
 * step's heartbeat as one hash. An attempt that runs again after a crash, a shutdown, a pause or a
 * quota wait answers the same requests from the journal instead of calling the provider. A 429 whose
 * reset is known ends the attempt for a durable wait until the reset: a rate limit is not a failure.
 *
 * @example
 * ```ts
 * const answer = await ctx.model.chat({ messages: [{ role: 'user', content: 'Review this diff' }] });
 * ```
 */
import { CircuitOpenError } from '../circuit-breakers';
import { PermanentError } from '../errors';
import { countWorkerCall } from './worker-usage';
import { PauseTaskSignal, ResumeAfterSignal } from '../step-signals';
import { stepBudgetReached, stepSoftCrossed, type StepBudget } from '../../shared/budget';
import {
  RateLimitError,
  type ChatCompletion,
  type ChatMessage,
  type ChatRequest,
  type ToolCall,
} from '../llm/llm-client';
import type { LlmClient } from '../llm/llm-client';
import {
  addUsage,
  emptyUsage,
  estimateTokens,
  priceOf,
  usageOfCall,
  type ModelUsage,
  type PriceTable,
} from '../../shared/model-usage';
import type { ModelJournal } from '../../shared/step-io';
import { answerMessage, keyOf, type CallRecord, type ModelRecords } from './records';

export type ModelRequest = Omit<ChatRequest, 'signal'>;

export interface ModelAnswer extends ChatCompletion {
  /** The answer as the assistant message to append to the conversation (stored once with it). */
  message: ChatMessage;
  /** Answered from the step's journal (an earlier attempt paid for it), not by the provider. */
  reused: boolean;
}

/** What a step sees as `ctx.model`. */
export interface ModelContext {
  /**
   * One chat completion through the worker's LLM client, recorded so that it is paid for once: an
   * attempt that runs again gets the recorded answer to the same request. Waits out a known quota
   * reset on a durable timer (ending this attempt) up to the task's limit.
   */
  chat(request: ModelRequest): Promise<ModelAnswer>;
  /** Stores a conversation (each message once) and returns its reference, for a small cursor. */
  saveConversation(messages: readonly ChatMessage[]): Promise<string | null>;
  /** The messages of a conversation saved with `saveConversation`. */
  loadConversation(ref: string | null): Promise<ChatMessage[]>;
  /** What this schedule of the step has used so far, every attempt counted. */
  usage(): ModelUsage;
}

/** Reset times are rounded by providers: wait a little past them so the first call after is let in. */
const QUOTA_MARGIN_MS = 500;

export interface ModelContextDeps {
  client: LlmClient | undefined;
  prices: PriceTable;
  records: ModelRecords;
  signal: AbortSignal;
  /** The journal of an earlier attempt or schedule, whose calls this one may reuse. */
  replay: ModelJournal | undefined;
  /** What earlier attempts of this schedule used. */
  usage: ModelUsage | undefined;
  /** Longest quota reset the step waits out on a durable timer, ms; 0: never (the step retries). */
  quotaWaitMs: number;
  /** What the task's budget had left when this schedule started: no provider call past it. */
  budget?: StepBudget | undefined;
  /** Told after every call, with the journal and usage to keep. */
  onCall(state: ModelState): Promise<void>;
  /** Told when this schedule's use crosses a soft threshold of the budget (report it at once). */
  onBudgetWarning?(): void;
}

export interface ModelState {
  journal: ModelJournal;
  usage: ModelUsage;
}

export interface OwnedModelContext extends ModelContext {
  /** The journal and usage, for the heartbeat; null while the step has neither made nor inherited a call. */
  state(): ModelState | null;
  /** A checkpoint was recorded: the calls before it are behind the cursor, so a new journal begins. */
  startSegment(): void;
}

/** How long to wait when `err` says the quota resets at a known time, else null. */
function quotaResetMs(err: unknown): number | null {
  if (err instanceof RateLimitError && err.reset) return err.reset.ms;
  if (err instanceof CircuitOpenError && err.reason === 'quota') return err.retryAfterMs ?? null;
  return null;
}

function chars(messages: readonly ChatMessage[]): number {
  return messages.reduce((sum, m) => sum + JSON.stringify(m).length, 0);
}

export function createModelContext(deps: ModelContextDeps): OwnedModelContext {
  const { records } = deps;
  let journal: ModelJournal = deps.replay ?? { head: null, n: 0 };
  let usage = deps.usage ?? emptyUsage();
  let touched = (deps.replay !== undefined && deps.replay.n > 0) || deps.usage !== undefined;
  // Earlier answers by request key, in the order they were given: the k-th same request gets the k-th.
  // The journal starts as the earlier one (its calls stay reusable should this attempt end too).
  let earlier: Promise<Map<string, { sha: string; record: CallRecord }[]>> | undefined;
  // How often each call is in the current journal, and how often this attempt has used it since the
  // journal began: a call reused after a checkpoint must join the new journal to stay reusable.
  const inJournal = new Map<string, number>();
  const used = new Map<string, number>();
  const earlierCalls = () =>
    (earlier ??= records.calls(deps.replay).then((calls) => {
      const byKey = new Map<string, { sha: string; record: CallRecord }[]>();
      for (const call of calls) {
        byKey.set(call.record.key, [...(byKey.get(call.record.key) ?? []), call]);
        if (journal.head === deps.replay?.head) inJournal.set(call.sha, (inJournal.get(call.sha) ?? 0) + 1);
      }
      return byKey;
    }));
  // Journal appends one at a time, so concurrent calls never lose a link.
  let appending: Promise<unknown> = Promise.resolve();
  const record = (callSha: string, spent: ModelUsage): Promise<void> => {
    const next = appending.then(async () => {
      const uses = (used.get(callSha) ?? 0) + 1;
      used.set(callSha, uses);
      if (uses > (inJournal.get(callSha) ?? 0)) {
        journal = await records.append(journal, callSha);
        inJournal.set(callSha, uses);
      }
      const before = usage;
      usage = addUsage(usage, spent);
      touched = true;
      await deps.onCall({ journal, usage });
      if (stepSoftCrossed(deps.budget, before, usage)) deps.onBudgetWarning?.();
    });
    appending = next.catch(() => undefined);
    return next;
  };

  return {
    async chat(request) {
      if (!deps.client) {
        throw new PermanentError(
          'no model is configured on this worker: set LONGRUN_LLM_BASE_URL and LONGRUN_LLM_MODEL'
        );
      }
      const model = request.model ?? deps.client.settings.model;
      const [tip, tools] = await Promise.all([
        records.saveConversation(request.messages),
        records.saveTools(request.tools),
      ]);
      const callRequest = {
        model,
        tip,
        messages: request.messages.length,
        tools,
        ...(request.maxTokens === undefined ? {} : { maxTokens: request.maxTokens }),
        ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
      };
      const key = keyOf(callRequest);
      const reusable = (await earlierCalls()).get(key)?.shift();
      if (reusable) {
        const message = await records.message(reusable.record.answer);
        await record(reusable.sha, { ...emptyUsage(), reused: 1 });
        const said = message as { content: string | null; tool_calls?: ToolCall[] };
        return {
          ...reusable.record.response,
          content: said.content ?? '',
          toolCalls: said.tool_calls ?? [],
          message,
          reused: true,
        };
      }
      // A hard budget stops the task before the call that would spend past it, not after.
      const overBudget = stepBudgetReached(deps.budget, usage);
      if (overBudget) throw new PauseTaskSignal(overBudget);
      let response: ChatCompletion;
      try {
        response = await deps.client.chat({ ...request, model, signal: deps.signal });
      } catch (err) {
        const resetMs = quotaResetMs(err);
        if (resetMs !== null && deps.quotaWaitMs > 0 && resetMs <= deps.quotaWaitMs) {
          throw new ResumeAfterSignal(resetMs + QUOTA_MARGIN_MS, 'quota');
        }
        throw err;
      }
      const used = usageOfCall(
        {
          model: response.model,
          promptTokens: response.usage?.promptTokens ?? estimateTokens(chars(request.messages)),
          completionTokens:
            response.usage?.completionTokens ??
            estimateTokens(response.content.length + JSON.stringify(response.toolCalls).length),
          cachedTokens: response.usage?.cachedTokens ?? 0,
          latencyMs: response.latencyMs,
          exact: response.usage !== null,
        },
        deps.prices
      );
      countWorkerCall(response.model, used);
      const message = answerMessage(response);
      const { content: _content, toolCalls: _calls, ...facts } = response;
      const answer = await records.saveAnswer(tip, message);
      const sha = await records.saveCall({ key, request: callRequest, answer, response: facts, usage: used });
      await record(sha, used);
      // A cost budget cannot count a model without a price: stop at the first such answer (it is
      // recorded, so a run after the table is fixed reuses it) rather than spend on uncounted.
      if (deps.budget?.costUsd && !priceOf(deps.prices, response.model)) {
        throw new PermanentError(
          `model "${response.model}" has no price in LONGRUN_LLM_PRICES, so the task's cost budget cannot count its calls: add it, or a pattern such as "${response.model.split('-')[0]}-*"`
        );
      }
      return { ...response, message, reused: false };
    },
    saveConversation: (messages) => records.saveConversation(messages),
    loadConversation: (ref) => records.loadConversation(ref),
    usage: () => usage,
    state: () => (touched ? { journal, usage } : null),
    startSegment() {
      journal = { head: null, n: 0 };
      inJournal.clear();
      used.clear();
    },
  };
}
