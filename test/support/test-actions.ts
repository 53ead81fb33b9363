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

/** Lists `count` items `{ label, n }`, inline and (with `artifact`) as an artifact holding the array. */
export const listAction = defineAction({
  name: 'test.list',
  description: 'Produce items for a fan-out',
  input: z.object({ count: z.number().int().min(0), prefix: z.string().default('item') }),
  async run(ctx, input) {
    const items = Array.from({ length: input.count }, (_, n) => ({ label: `${input.prefix}${n}`, n }));
    return { items, artifact: await ctx.artifacts.putJson(items, 'items.json') };
  },
});

/** Returns the value it was given (a fan-out item, say) as its output. */
export const echoAction = defineAction({
  name: 'test.echo',
  description: 'Return the value given',
  input: z.object({ value: z.record(z.string(), z.unknown()) }),
  async run(_ctx, input) {
    await Promise.resolve();
    return input.value;
  },
});

/** Fan-in: the outputs it was given, counted and summed (`values[].n`). */
export const collectAction = defineAction({
  name: 'test.collect',
  description: 'Count and sum the outputs of a fan-out',
  input: z.object({ outputs: z.array(z.object({ n: z.number() }).loose().nullable()) }),
  async run(_ctx, input) {
    await Promise.resolve();
    const present = input.outputs.filter((o) => o !== null);
    return {
      count: input.outputs.length,
      missing: input.outputs.length - present.length,
      sum: present.reduce((a, o) => a + o.n, 0),
    };
  },
});

/**
 * A step that works in rounds across time: each round appends to the ledger, checkpoints, and asks to
 * run again after `every` (a durable timer in the workflow, no worker held) until `rounds` are done.
 */
export const pollAction = defineAction({
  name: 'test.poll',
  description: 'Work in rounds, waiting durably between them',
  input: z.object({
    ledger: z.string(),
    label: z.string(),
    rounds: z.number().int().min(1),
    every: z.string(),
  }),
  async run(ctx, input) {
    const round = (ctx.cursor as { round?: number } | undefined)?.round ?? 0;
    appendFileSync(input.ledger, `${input.label}:${round}@${Date.now()}\n`);
    await Promise.resolve();
    if (round + 1 < input.rounds) {
      ctx.checkpoint({ round: round + 1 }, round + 1, input.rounds);
      ctx.resumeAfter(input.every);
    }
    return { label: input.label, rounds: input.rounds };
  },
});

/** One round of a repeating check: appends its label and round to the ledger. */
export const checkAction = defineAction({
  name: 'test.check',
  description: 'A monitoring check',
  input: z.object({ ledger: z.string(), label: z.string() }),
  async run(ctx, input) {
    appendFileSync(input.ledger, `${input.label}:${ctx.round}\n`);
    await Promise.resolve();
    return { label: input.label, round: ctx.round };
  },
});

export const testActions = [
  tallyAction,
  gateAction,
  slowAction,
  flakyAction,
  toolAction,
  diskFullAction,
  listAction,
  echoAction,
  collectAction,
  pollAction,
  checkAction,
];
