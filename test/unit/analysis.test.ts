import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyzeSource } from '../../src/activities/agents/codebase-review/analysis';

const fixture = (path: string) =>
  readFileSync(join(__dirname, '..', 'fixtures', 'sample-repo', path), 'utf8');

describe('analyzeSource', () => {
  it('counts lines, comments, markers, branches and nesting of a TypeScript file', () => {
    expect(analyzeSource(fixture('src/app.ts'))).toEqual({
      lines: 10,
      blankLines: 1,
      commentLines: 2,
      codeLines: 7,
      todos: 1,
      fixmes: 0,
      complexity: 3, // 1 + if + &&
      maxNesting: 3,
    });
  });

  it('treats block comments as comments and counts ternaries and cases as decisions', () => {
    expect(analyzeSource(fixture('src/util.ts'))).toEqual({
      lines: 18,
      blankLines: 1,
      commentLines: 4,
      codeLines: 13,
      todos: 0,
      fixmes: 1,
      complexity: 6, // 1 + 2 ternaries + 2 cases + 1 ternary
      maxNesting: 2,
    });
  });

  it('understands # comments and ignores keywords inside strings', () => {
    expect(analyzeSource(fixture('scripts/build.py'))).toEqual({
      lines: 13,
      blankLines: 4,
      commentLines: 1,
      codeLines: 8,
      todos: 1,
      fixmes: 0,
      complexity: 4, // 1 + for + if + if
      maxNesting: 3,
    });
  });

  it('returns zeros and complexity 1 for an empty file', () => {
    expect(analyzeSource('')).toEqual({
      lines: 0,
      blankLines: 0,
      commentLines: 0,
      codeLines: 0,
      todos: 0,
      fixmes: 0,
      complexity: 1,
      maxNesting: 0,
    });
  });

  it('counts a last line without a trailing newline and CRLF endings', () => {
    const m = analyzeSource('a();\r\nb();');
    expect(m.lines).toBe(2);
    expect(m.codeLines).toBe(2);
  });

  it('matches TODO and FIXME only as whole words', () => {
    const m = analyzeSource('// TODOS and FIXMEs are not markers\n// TODO yes FIXME yes TODO\n');
    expect(m.todos).toBe(2);
    expect(m.fixmes).toBe(1);
  });

  it('keeps counting after a comment that closes on a later line with code after it', () => {
    const m = analyzeSource('/* start\n end */ if (x) y();\n');
    expect(m.commentLines).toBe(1);
    expect(m.codeLines).toBe(1);
    expect(m.complexity).toBe(2);
  });
});
