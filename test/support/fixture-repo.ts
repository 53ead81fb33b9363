import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyzeSource } from '../../src/activities/agents/codebase-review/analysis';

function moduleBody(variant: number, linesPerFile: number): string {
  const lines: string[] = [];
  for (let i = 1; lines.length < linesPerFile - 1; i++) {
    lines.push(`export function fn${variant}_${i}(a: number, b: number): number {`);
    lines.push(`  if (a > b && b !== ${i}) {`);
    lines.push(`    return a * ${i} + b; // TODO tune factor ${i}`);
    lines.push('  }');
    lines.push(`  for (let k = 0; k < ${(i + variant) % 5}; k++) a += k;`);
    lines.push((i + variant) % 4 === 0 ? '  /* FIXME: overflow */' : '  /* checked */');
    lines.push('  return a;');
    lines.push('}');
    lines.push('');
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Writes a deterministic synthetic source tree of `files` TypeScript files of `linesPerFile` lines, with
 * branches, comments and TODO/FIXME markers, spread over a few folders. Files differ in their first line
 * and in one of seven bodies, so content hashes are all distinct.
 */
export function generateRepo(root: string, files: number, linesPerFile: number): void {
  const bodies = Array.from({ length: 7 }, (_, v) => moduleBody(v, linesPerFile));
  for (let f = 0; f < files; f++) {
    const dir = join(root, `pkg${f % 7}`, `mod${f % 3}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, `file${String(f).padStart(5, '0')}.ts`),
      `// generated module ${f}\n${bodies[f % 7]}`
    );
  }
}

/** Every file under `root`, depth first. */
export function listFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(p);
    }
  };
  walk(root);
  return out;
}

/** What an uninterrupted review of `root` reports: files, lines, TODOs and FIXMEs summed. */
export function uninterruptedReview(root: string): {
  files: number;
  lines: number;
  todos: number;
  fixmes: number;
} {
  const metrics = listFiles(root).map((p) => analyzeSource(readFileSync(p, 'utf8')));
  const sum = (k: 'lines' | 'todos' | 'fixmes') => metrics.reduce((a, m) => a + m[k], 0);
  return { files: metrics.length, lines: sum('lines'), todos: sum('todos'), fixmes: sum('fixmes') };
}
