import { z } from 'zod';
import { artifactRefSchema } from '../../shared/artifact-schema';
import type { ArtifactRef } from '../../shared/step-io';
import { defineAction } from '../action';
import type { LlmClient } from './llm-client';

const SummarizeInput = z.strictObject({
  /** The texts to summarize, one LLM call each. */
  texts: z.array(z.string().min(1).max(100_000)).min(1).max(500),
  /** The system prompt. @default "Summarize the user's text in one or two sentences." */
  instruction: z.string().min(1).max(4_000).default("Summarize the user's text in one or two sentences."),
  /** `max_tokens` of each summary. @default 200 */
  maxTokens: z.number().int().min(1).max(4_096).default(200),
});

/**
 * The step's cursor: the next text to summarize and the summaries so far, stored as artifacts so the
 * LLM's text stays out of heartbeats and history (a reference is ~150 bytes).
 */
const SummaryCursorSchema = z.object({
  next: z.number().int().min(0),
  summaries: z.array(artifactRefSchema()),
});
export type SummaryCursor = z.infer<typeof SummaryCursorSchema>;

/** One entry of the `summaries.json` artifact the step returns. */
export interface SummaryEntry {
  index: number;
  summary: string;
}

/**
 * `llm.summarize`: summarizes texts one by one through the LLM, checkpointing after each, so a retry
 * (after an outage, a rate limit or an open circuit) resumes at the first text not yet summarized.
 * Returns the summaries as a JSON artifact (`SummaryEntry[]`).
 */
export function summarizeAction(llm: LlmClient) {
  return defineAction({
    name: 'llm.summarize',
    description: 'Summarize texts one by one with the configured LLM, resuming after the last one done',
    input: SummarizeInput,
    async run(ctx, input) {
      const resumed = SummaryCursorSchema.safeParse(ctx.cursor);
      // A cursor from other input (more texts than this one) cannot be trusted: start over.
      const cursor: SummaryCursor =
        resumed.success &&
        resumed.data.next <= input.texts.length &&
        resumed.data.summaries.length === resumed.data.next
          ? resumed.data
          : { next: 0, summaries: [] };
      const total = input.texts.length;
      ctx.progress(cursor.next, total);
      let model = llm.settings.model;
      for (let index = cursor.next; index < total; index++) {
        ctx.throwIfCancelled();
        let content: string;
        try {
          ({ content, model } = await llm.chat({
            messages: [
              { role: 'system', content: input.instruction },
              { role: 'user', content: input.texts[index] as string },
            ],
            maxTokens: input.maxTokens,
            signal: ctx.signal,
          }));
        } catch (err) {
          ctx.throwIfCancelled(); // a cancelled step stops as cancelled, not as a failed call
          throw err;
        }
        const ref: ArtifactRef = await ctx.artifacts.put(content, {
          name: `summary-${index}.txt`,
          mediaType: 'text/plain; charset=utf-8',
        });
        cursor.next = index + 1;
        cursor.summaries = [...cursor.summaries, ref];
        ctx.checkpoint({ ...cursor }, cursor.next, total, `text ${index + 1} of ${total}`);
      }
      const entries: SummaryEntry[] = [];
      for (const [index, ref] of cursor.summaries.entries()) {
        entries.push({ index, summary: await ctx.artifacts.getText(ref) });
      }
      return {
        model,
        count: entries.length,
        summaries: await ctx.artifacts.putJson(entries, 'summaries.json'),
      };
    },
  });
}
