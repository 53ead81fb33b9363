import { appendFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import {
  CriticalError,
  defineAction,
  PermanentError,
  ResourceError,
  TransientError,
} from '../../src/activities';

/** Appends its label (and one line per item) to a ledger file: an outside record of what ran. */
export const tallyAction = defineAction({
  name: 'test.tally',
  description: 'Append the label to a ledger file, once per item and once at the end',
  input: z.object({ ledger: z.string(), label: z.string(), items: z.number().int().min(0).default(0) }),
  async run(ctx, input) {
    const items = Array.from({ length: input.items }, (_, i) => i);
    for await (const i of ctx.checkpointed(items)) appendFileSync(input.ledger, `${input.label}:${i}\n`);
    appendFileSync(input.ledger, `${input.label}\n`);
    return { label: input.label, items: input.items };
  },
});

/** Waits until a file exists (an outside event), heartbeating, then appends its label to the ledger. */
export const gateAction = defineAction({
  name: 'test.gate',
  description: 'Wait for a file to appear',
  input: z.object({ file: z.string(), ledger: z.string(), label: z.string() }),
  async run(ctx, input) {
    while (!existsSync(input.file)) {
      ctx.throwIfCancelled();
      ctx.progress(0, 1, `waiting for ${input.file}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    appendFileSync(input.ledger, `${input.label}\n`);
    return { label: input.label };
  },
});

/** Items that each take `itemMs` of waiting (like an LLM call), one ledger line per item. */
export const slowAction = defineAction({
  name: 'test.slow',
  description: 'Process items slowly, one ledger line each',
  input: z.object({
    ledger: z.string(),
    label: z.string(),
    items: z.number().int().min(1),
    itemMs: z.number().int().min(1),
  }),
  async run(ctx, input) {
    const items = Array.from({ length: input.items }, (_, i) => i);
    for await (const i of ctx.checkpointed(items, (item) => `item ${item}`)) {
      await new Promise((resolve) => setTimeout(resolve, input.itemMs));
      appendFileSync(input.ledger, `${input.label}:${i}\n`);
    }
    return { label: input.label, items: input.items };
  },
});

/**
 * Fails its first `failures` calls (counted in a file, across attempts and schedules) with an error
 * of `kind`, then appends its label to the ledger.
 */
export const flakyAction = defineAction({
  name: 'test.flaky',
  description: 'Fail a number of times, then succeed',
  input: z.object({
    ledger: z.string(),
    label: z.string(),
    counter: z.string(),
    failures: z.number().int().min(0),
    kind: z.enum(['transient', 'critical', 'permanent']),
    retryAfterMs: z.number().int().optional(),
  }),
  async run(_ctx, input) {
    const calls = existsSync(input.counter) ? Number(readFileSync(input.counter, 'utf8')) : 0;
    writeFileSync(input.counter, String(calls + 1));
    appendFileSync(input.ledger, `${input.label}@${Date.now()}\n`);
    await Promise.resolve();
    if (calls < input.failures) {
      const message = `${input.kind} failure ${calls + 1} of ${input.failures}`;
      if (input.kind === 'transient') {
        throw new TransientError(
          message,
          input.retryAfterMs === undefined ? {} : { retryAfterMs: input.retryAfterMs }
        );
      }
      throw input.kind === 'critical' ? new CriticalError(message) : new PermanentError(message);
    }
    return { label: input.label, calls: calls + 1 };
  },
});

/**
 * One `shell` tool call that hangs on the first `hangs` attempts (ignoring its abort signal, like a
 * stuck child process) and answers at once after: the tool's time limit ends the hung ones.
 */
export const toolAction = defineAction({
  name: 'test.tool',
  description: 'A tool call that hangs on early attempts',
  input: z.object({ ledger: z.string(), label: z.string(), hangs: z.number().int().min(0) }),
  async run(ctx, input) {
    appendFileSync(input.ledger, `${input.label}@${ctx.attempt}\n`);
    const answer = await ctx.tool('shell', async () => {
      if (ctx.attempt <= input.hangs) await new Promise(() => undefined);
      return 'ok';
    });
    return { label: input.label, attempt: ctx.attempt, answer };
  },
});

/**
 * Writes scratch files to its temp folder, then runs out of disk on its first `failures` attempts
 * (ENOSPC, retried after `retryAfterMs`); each attempt records whether it found the folder emptied.
 */
export const diskFullAction = defineAction({
  name: 'test.diskfull',
  description: 'Fill the temp folder, then fail for lack of disk space',
  input: z.object({ ledger: z.string(), failures: z.number().int().min(0), retryAfterMs: z.number().int() }),
  async run(ctx, input) {
    const leftovers = readdirSync(ctx.tempDir).length;
    appendFileSync(input.ledger, `attempt ${ctx.attempt}: ${leftovers} files in tempDir\n`);
    writeFileSync(join(ctx.tempDir, `scratch-${ctx.attempt}.bin`), Buffer.alloc(1024));
    await Promise.resolve();
    if (ctx.attempt <= input.failures) {
      throw new ResourceError('ENOSPC: no space left on device, write', { retryAfterMs: input.retryAfterMs });
    }
    return { attempt: ctx.attempt };
  },
});

export const testActions = [tallyAction, gateAction, slowAction, flakyAction, toolAction, diskFullAction];
