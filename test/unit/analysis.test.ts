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

  // Each of these made a regular expression backtrack for minutes or more (the string stripper), or
  // grows quadratically with a naive scan. They must finish, with sensible counts.
  it('measures hostile lines in time linear in their length', () => {
    const unterminated = `x = "${'\\'.repeat(40)}`; // the 46-byte line that wedged a worker
    expect(analyzeSource(unterminated)).toMatchObject({ lines: 1, codeLines: 1, complexity: 1 });
    const openers = '/* '.repeat(200_000); // many comment openers, no closer
    expect(analyzeSource(`a();\n${openers}\nb();\n`)).toMatchObject({ codeLines: 1, commentLines: 2 });
    const quotes = `'"\`\\`.repeat(100_000);
    expect(analyzeSource(quotes).lines).toBe(1);
    const ternaries = 'a ? '.repeat(100_000);
    expect(analyzeSource(ternaries).complexity).toBe(1);
    const slashes = `${'/'.repeat(200_000)}x`;
    expect(analyzeSource(slashes).commentLines).toBe(1);
  });

  it('treats an unterminated string as running to the end of its line', () => {
    const m = analyzeSource('s = "if while ( [ {\nif (x) y();\n');
    expect(m.complexity).toBe(2); // only the second line's `if`
    expect(m.maxNesting).toBe(1);
  });

  it('scans strings and comments left to right: a quote in a comment opens no string', () => {
    const m = analyzeSource("// don't if\nx(); # it's if\n/* ' */ if (a) b();\n");
    expect(m).toMatchObject({ commentLines: 1, codeLines: 2, complexity: 2 });
  });
});
