import { z } from 'zod';
import { artifactRefSchema } from '../../../shared/artifact-schema';
import { defineAction } from '../../action';
import { totalsOf, type FileAnalysis } from './analyze';

const ReportInput = z.strictObject({
  title: z.string().min(1).default('Codebase review'),
  root: z.string().min(1),
  /**
   * The analysis (`analyze.results`), or the outputs of an analysis fanned out over folders
   * (`analyzeFolders.outputs`: one `{ results }` per folder, null for a folder that was skipped).
   */
  results: z.union([
    artifactRefSchema(),
    z.array(z.object({ results: artifactRefSchema() }).loose().nullable()),
  ]),
  /** How many files the "most complex" table lists. @default 10 */
  top: z.number().int().positive().max(1000).default(10),
});

function cell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

/** Renders the Markdown report. Pure: the same analysis always gives the same bytes. */
export function renderReport(
  input: { title: string; root: string; top: number },
  rows: FileAnalysis[]
): string {
  const t = totalsOf(rows);
  const complexity = rows.reduce((a, r) => a + r.complexity, 0);
  const mean = rows.length ? complexity / rows.length : 0;
  const out: string[] = [
    `# ${input.title}`,
    '',
    `Root: \`${input.root}\``,
    '',
    '| Files | Bytes | Lines | Code | Comments | Blank | TODO | FIXME | Mean complexity |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    `| ${t.files} | ${t.bytes} | ${t.lines} | ${t.codeLines} | ${t.commentLines} | ${t.blankLines} | ${t.todos} | ${t.fixmes} | ${mean.toFixed(2)} |`,
    '',
    `## Most complex files (top ${input.top})`,
    '',
    '| # | File | Complexity | Lines | Max nesting |',
    '| ---: | --- | ---: | ---: | ---: |',
  ];
  const ranked = [...rows]
    .sort((a, b) => b.complexity - a.complexity || a.path.localeCompare(b.path))
    .slice(0, input.top);
  ranked.forEach((r, i) => {
    out.push(`| ${i + 1} | ${cell(r.path)} | ${r.complexity} | ${r.lines} | ${r.maxNesting} |`);
  });
  const marked = rows.filter((r) => r.todos + r.fixmes > 0);
  out.push('', '## Files with TODO or FIXME', '');
  if (marked.length === 0) out.push('None.');
  else {
    out.push('| File | TODO | FIXME |', '| --- | ---: | ---: |');
    for (const r of marked) out.push(`| ${cell(r.path)} | ${r.todos} | ${r.fixmes} |`);
  }
  out.push(
    '',
    '## All files',
    '',
    '| File | Bytes | Lines | Code | Complexity | TODO | FIXME | SHA-256 |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |'
  );
  for (const r of rows) {
    out.push(
      `| ${cell(r.path)} | ${r.bytes} | ${r.lines} | ${r.codeLines} | ${r.complexity} | ${r.todos} | ${r.fixmes} | \`${r.sha256}\` |`
    );
  }
  return `${out.join('\n')}\n`;
}

/** Writes the Markdown report of an analysis as an artifact. */
export const reportAction = defineAction({
  name: 'codebase.report',
  description: 'Write a Markdown report of a codebase analysis',
  input: ReportInput,
  async run(ctx, input) {
    const parts = Array.isArray(input.results)
      ? input.results.flatMap((r) => (r ? [r.results] : []))
      : [input.results];
    const rows: FileAnalysis[] = [];
    for (const part of parts) rows.push(...(await ctx.artifacts.getJson<FileAnalysis[]>(part)));
    rows.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    const markdown = renderReport(input, rows);
    const report = await ctx.artifacts.put(markdown, {
      name: 'codebase-review.md',
      mediaType: 'text/markdown',
    });
    ctx.progress(rows.length, rows.length, 'report written');
    return { report, files: rows.length };
  },
});
