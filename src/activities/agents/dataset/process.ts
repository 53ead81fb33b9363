import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { z } from 'zod';
import { defineAction } from '../../action';
import { emptyAggregates, foldLine, type Aggregates } from './aggregate';

const ProcessInput = z.strictObject({
  /** JSONL file; relative paths resolve against the worker's working directory. */
  path: z.string().min(1),
  /** Field to group by (string values). @default "category" */
  groupBy: z.string().min(1).default('category'),
  /** Numeric field to sum, min and max per group. @default "amount" */
  sumField: z.string().min(1).default('amount'),
  /** Records per batch: the cursor is checkpointed after each batch. @default 10000 */
  batchSize: z.number().int().min(1).max(1_000_000).default(10_000),
});

/** The step's cursor: where the next unread line starts, and the aggregates of everything before it. */
export interface DatasetCursor extends Aggregates {
  offset: number;
}

function isDatasetCursor(value: unknown): value is DatasetCursor {
  return typeof value === 'object' && value !== null && typeof (value as DatasetCursor).offset === 'number';
}

/**
 * Streams a large JSONL file in batches with bounded memory (one read buffer and one batch), folding
 * each record into per-group aggregates; checkpoints the byte offset and the aggregates so far after
 * every batch, so a retry continues exactly where the last recorded batch ended.
 */
export const processDatasetAction = defineAction({
  name: 'dataset.process',
  description: 'Aggregate a JSONL file by a field, checkpointing by byte offset',
  input: ProcessInput,
  async run(ctx, input) {
    const path = resolve(input.path);
    const size = (await stat(path)).size;
    const start: DatasetCursor = isDatasetCursor(ctx.cursor)
      ? ctx.cursor
      : { offset: 0, ...emptyAggregates() };
    const agg: DatasetCursor = structuredClone(start);
    let inBatch = 0;
    let pending: Buffer = Buffer.alloc(0);
    let offset = start.offset; // byte offset of the first byte of `pending`

    const stream = createReadStream(path, { start: start.offset, highWaterMark: 1 << 20 });
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        ctx.throwIfCancelled();
        const data = pending.length ? Buffer.concat([pending, chunk]) : chunk;
        let lineStart = 0;
        for (let nl = data.indexOf(0x0a, lineStart); nl !== -1; nl = data.indexOf(0x0a, lineStart)) {
          foldLine(agg, data.toString('utf8', lineStart, nl), input.groupBy, input.sumField);
          lineStart = nl + 1;
          if (++inBatch >= input.batchSize) {
            agg.offset = offset + lineStart;
            // A deep copy: the SDK may serialize the details after `agg` has moved on.
            ctx.checkpoint(structuredClone(agg), agg.offset, size, `${agg.records} records`);
            inBatch = 0;
          }
        }
        offset += lineStart;
        pending = data.subarray(lineStart);
      }
    } finally {
      stream.destroy();
    }
    if (pending.length) foldLine(agg, pending.toString('utf8'), input.groupBy, input.sumField);
    agg.offset = size;
    ctx.checkpoint(structuredClone(agg), size, size, `${agg.records} records`);

    const aggregates: Aggregates = { records: agg.records, invalid: agg.invalid, groups: agg.groups };
    const ref = await ctx.artifacts.putJson(aggregates, 'aggregates.json');
    return {
      aggregates: ref,
      records: agg.records,
      invalid: agg.invalid,
      groups: Object.keys(agg.groups).length,
      bytes: size,
      resumedFromOffset: start.offset,
    };
  },
});
