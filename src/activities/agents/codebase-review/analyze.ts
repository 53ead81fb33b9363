import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { appendFile, open, readFile, stat, truncate } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { activityInfo } from '@temporalio/activity';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { artifactRefSchema } from '../../../shared/artifact-schema';
import { defineAction } from '../../action';
import type { ItemCursor, StepContext } from '../../step-context';
import { linesOf, SourceAnalyzer, type SourceMetrics } from './analysis';
import type { Manifest, ManifestEntry } from './scan';

export interface FileAnalysis extends SourceMetrics {
  index: number;
  path: string;
  bytes: number;
  sha256: string;
}

export interface AnalysisTotals {
  files: number;
  bytes: number;
  lines: number;
  codeLines: number;
  commentLines: number;
  blankLines: number;
  todos: number;
  fixmes: number;
}

const AnalyzeInput = z.strictObject({
  root: z.string().min(1),
  manifest: artifactRefSchema(),
  /**
   * Optional append-only JSONL audit log: one line per file analysis (pid, attempt, index, path, time),
   * written outside Temporal, so work done twice after a crash can be counted.
   */
  auditLog: z.string().min(1).optional(),
  /** A pause per file, ms, as an agent's model call would take (the demo's, so its progress shows). */
  thinkMs: z.number().int().min(0).max(60_000).optional(),
});

const CHUNK_BYTES = 64 * 1024;
/** A longer line (minified code, a data blob) is measured by its first this many characters. */
export const MAX_LINE_CHARS = 4 * 1024 * 1024;

/**
 * Reads the file in chunks and yields the worker's event loop between them, so a huge or hostile
 * file neither fills memory nor keeps the worker from heartbeating and draining on SIGTERM.
 */
async function analyzeFile(
  ctx: StepContext,
  root: string,
  entry: ManifestEntry & { index: number }
): Promise<FileAnalysis> {
  const hash = createHash('sha256');
  const analyzer = new SourceAnalyzer();
  const decoder = new StringDecoder('utf8');
  let bytes = 0;
  let partial = ''; // the start of a line the chunks so far have not ended
  let skipping = false; // inside the part of an over-long line that is not measured
  const take = (text: string): void => {
    const end = text.lastIndexOf('\n');
    if (end < 0) {
      if (!skipping) partial += text;
      if (partial.length > MAX_LINE_CHARS) {
        analyzer.line(partial.slice(0, MAX_LINE_CHARS));
        partial = '';
        skipping = true;
      }
      return;
    }
    const head = skipping ? text.slice(text.indexOf('\n') + 1, end + 1) : partial + text.slice(0, end + 1);
    for (const line of linesOf(head)) analyzer.line(line);
    partial = text.slice(end + 1);
    skipping = false;
  };
  for await (const chunk of createReadStream(join(root, entry.path), { highWaterMark: CHUNK_BYTES })) {
    const data = chunk as Buffer;
    bytes += data.length;
    hash.update(data);
    take(decoder.write(data));
    await ctx.yieldIfBusy();
  }
  take(decoder.end());
  if (partial !== '') analyzer.line(partial.slice(0, MAX_LINE_CHARS));
  return { index: entry.index, path: entry.path, bytes, sha256: hash.digest('hex'), ...analyzer.metrics };
}

/** Cuts a torn last line (a crash in the middle of a write) so the file holds whole JSON lines only. */
async function dropTornTail(path: string): Promise<void> {
  const size = await stat(path).then(
    (s) => s.size,
    () => -1
  );
  if (size <= 0) return;
  const data = await readFile(path);
  if (data[data.length - 1] === 0x0a) return;
  await truncate(path, data.lastIndexOf(0x0a) + 1);
}

async function readResults(path: string): Promise<Map<number, FileAnalysis>> {
  const byIndex = new Map<number, FileAnalysis>();
  const text = await readFile(path, 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    if (!line) continue;
    const row = JSON.parse(line) as FileAnalysis;
    byIndex.set(row.index, row);
  }
  return byIndex;
}

export function totalsOf(rows: readonly FileAnalysis[]): AnalysisTotals {
  const t: AnalysisTotals = {
    files: rows.length,
    bytes: 0,
    lines: 0,
    codeLines: 0,
    commentLines: 0,
    blankLines: 0,
    todos: 0,
    fixmes: 0,
  };
  for (const r of rows) {
    t.bytes += r.bytes;
    t.lines += r.lines;
    t.codeLines += r.codeLines;
    t.commentLines += r.commentLines;
    t.blankLines += r.blankLines;
    t.todos += r.todos;
    t.fixmes += r.fixmes;
  }
  return t;
}

async function audit(ctx: StepContext, path: string | undefined, entry: { index: number; path: string }) {
  if (!path) return;
  const line = {
    pid: process.pid,
    attempt: ctx.attempt,
    index: entry.index,
    path: entry.path,
    at: Date.now(),
  };
  await appendFile(path, `${JSON.stringify(line)}\n`);
}

/**
 * Analyzes every file of the manifest, checkpointing after each one. Results go to a scratch JSONL
 * file; a retried attempt resumes after the last recorded file and any gap (say, the retry ran on a
 * machine without the scratch file) is analyzed again before the results artifact is written.
 */
export const analyzeAction = defineAction({
  name: 'codebase.analyze',
  description: 'Measure every file of a manifest (lines, complexity, TODO/FIXME, sha256)',
  input: AnalyzeInput,
  async run(ctx, input) {
    const root = resolve(input.root);
    const manifest = await ctx.artifacts.getJson<Manifest>(input.manifest);
    const entries = manifest.files.map((file, index) => ({ ...file, index }));
    const resumedFrom = (ctx.cursor as ItemCursor | undefined)?.next ?? 0;
    const resultsPath = join(ctx.workDir, 'results.jsonl');
    if (ctx.cursor === undefined) await truncate(resultsPath, 0).catch(() => undefined);
    else await dropTornTail(resultsPath);

    const out = await open(resultsPath, 'a');
    try {
      for await (const entry of ctx.checkpointed(entries, (e) => e.path)) {
        const row = await analyzeFile(ctx, root, entry);
        if (input.thinkMs) await sleep(input.thinkMs, undefined, { signal: ctx.signal });
        await audit(ctx, input.auditLog, entry);
        await out.write(`${JSON.stringify(row)}\n`);
      }
    } finally {
      await out.close();
    }

    const byIndex = await readResults(resultsPath);
    let refilled = 0;
    for (const entry of entries) {
      if (byIndex.has(entry.index)) continue;
      ctx.throwIfCancelled();
      byIndex.set(entry.index, await analyzeFile(ctx, root, entry));
      await audit(ctx, input.auditLog, entry);
      refilled++;
    }
    const rows = entries.map((e) => byIndex.get(e.index) as FileAnalysis);
    const results = await ctx.artifacts.putJson(rows, 'analysis.json');
    return { results, ...totalsOf(rows), resumedFrom, refilled, attempt: activityInfo().attempt };
  },
});
