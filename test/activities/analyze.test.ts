import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import {
  analyzeAction,
  MAX_LINE_CHARS,
  type FileAnalysis,
} from '../../src/activities/agents/codebase-review/analyze';
import { analyzeSource } from '../../src/activities/agents/codebase-review/analysis';
import { createStepContext } from '../../src/activities/step-context';
import { ArtifactStore } from '../../src/runtime/artifact-store';

let dir: string;
let artifacts: ArtifactStore;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'longrun-analyze-'));
  artifacts = new ArtifactStore(join(dir, 'artifacts'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function analyze(files: Record<string, string>): Promise<FileAnalysis[]> {
  const root = join(dir, `repo-${Math.random().toString(36).slice(2)}`);
  mkdirSync(root);
  for (const [path, text] of Object.entries(files)) writeFileSync(join(root, path), text);
  const manifest = await artifacts.putJson(
    { files: Object.keys(files).map((path) => ({ path, bytes: 0 })) },
    'manifest.json'
  );
  const workDir = join(root, '.work');
  mkdirSync(workDir);
  const request = { taskId: 't', phaseId: 'p', stepId: 'analyze', action: 'codebase.analyze', input: {} };
  const out = await new MockActivityEnvironment().run(async () => {
    const ctx = createStepContext(request, { artifacts, workDir });
    try {
      return await analyzeAction.run(ctx, { root, manifest });
    } finally {
      ctx.dispose();
    }
  });
  return artifacts.getJson<FileAnalysis[]>((out as { results: never }).results);
}

describe('codebase.analyze reads files in chunks', () => {
  it('measures a file whose lines, CRLF pairs and UTF-8 characters cross chunk boundaries as a whole read would', async () => {
    const line = (i: number) => `if (a${i} && "é€😀 // not a comment") { x(); } // TODO ${i}\r\n`;
    const big = Array.from({ length: 8_000 }, (_, i) => line(i)).join('') + 'tail();';
    const files = { 'big.ts': big, 'small.py': '# only\nif x:\n  y()\n', 'empty.txt': '', 'nl.txt': '\n\n' };
    const rows = await analyze(files);
    for (const row of rows) {
      const text = files[row.path as keyof typeof files];
      const { index: _i, path: _p, bytes, sha256, ...metrics } = row;
      expect(metrics).toEqual(analyzeSource(text));
      expect(bytes).toBe(Buffer.byteLength(text));
      expect(sha256).toBe(createHash('sha256').update(text).digest('hex'));
    }
    expect(rows[0]).toMatchObject({ lines: 8_001, todos: 8_000, complexity: 1 + 16_000 });
  });

  it('measures a line longer than its limit by its first part, and counts the lines after it', async () => {
    const long = `${'x'.repeat(MAX_LINE_CHARS + 200_000)} if\nif (a) b();\n`;
    const [row] = await analyze({ 'min.js': long });
    expect(row).toMatchObject({ lines: 2, codeLines: 2, complexity: 2, bytes: long.length });
  });
});
