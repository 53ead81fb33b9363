// The tutorial's action: it "reviews" a text file line by line, taking a while per line as an agent
// does per model call, and checkpoints after each line, so a crash, a pause or a rollback resumes at
// the line it was on. Register it with: longrun dev --no-demo --actions examples/tutorial/actions.cjs
const { readFile } = require('node:fs/promises');
const { setTimeout: sleep } = require('node:timers/promises');
const { z } = require('zod');
const { defineAction } = require('longrun');

exports.reviewLines = defineAction({
  name: 'tutorial.review-lines',
  description: 'Review a text file line by line (a pause per line, as for a model call)',
  input: z.strictObject({
    file: z.string().min(1),
    secondsPerLine: z.number().positive().max(60).default(0.5),
  }),
  async run(ctx, input) {
    const lines = (await readFile(input.file, 'utf8')).split('\n').filter((line) => line.trim() !== '');
    for await (const line of ctx.checkpointed(lines, (l) => l.slice(0, 40))) {
      await sleep(input.secondsPerLine * 1000, undefined, { signal: ctx.signal });
      void line; // a real agent would send the line to a model here (ctx.signal aborts the call)
    }
    const words = lines.reduce((n, line) => n + line.split(/\s+/).filter(Boolean).length, 0);
    return { file: input.file, lines: lines.length, words };
  },
});
