/**
 * Static metrics of one source file. Pure and deterministic, so it is unit-tested directly.
 *
 * Source files are user data, possibly hostile: every pass here is linear in the length of the line.
 * Strings and comments are found by a left-to-right scan, not by regular expressions (the
 * alternation a string-matching pattern needs backtracks exponentially on an unterminated string
 * full of backslashes), and the patterns left have no nested or overlapping quantifiers.
 */
export interface SourceMetrics {
  lines: number;
  blankLines: number;
  commentLines: number;
  codeLines: number;
  /** TODO markers (case-sensitive, word boundary). */
  todos: number;
  /** FIXME markers (case-sensitive, word boundary). */
  fixmes: number;
  /**
   * Estimated cyclomatic complexity: 1 + decision points (if, for, while, case, catch, &&, ||, ??, ?:)
   * outside comments and string literals.
   */
  complexity: number;
  /** Deepest nesting of braces, brackets and parentheses. */
  maxNesting: number;
}

// Linear: fixed words and operators; the ternary lookahead stops at the next `?`, so each character
// is scanned at most twice.
const DECISION = /\b(?:if|for|while|case|catch|elif|except)\b|&&|\|\||\?\?|\?(?=[^.?:]*:)/g;
const TODO = /\bTODO\b/g;
const FIXME = /\bFIXME\b/g;

function count(re: RegExp, text: string): number {
  re.lastIndex = 0;
  let n = 0;
  while (re.exec(text)) n++;
  return n;
}

const isSpace = (ch: string | undefined): boolean => ch === ' ' || ch === '\t' || ch === '\f' || ch === '\v';

/**
 * The code of one trimmed line: string literals become `""`, comments are dropped. A string left open
 * runs to the end of the line; `//` and `#` start a comment at the line's start or after a space.
 */
function codeOf(line: string, state: { inBlockComment: boolean }): string {
  const parts: string[] = [];
  let from = 0; // start of the code not yet copied to `parts`
  let boundary = true; // may a `//` or `#` comment start here?
  let i = 0;
  const n = line.length;
  while (i < n) {
    if (state.inBlockComment) {
      const end = line.indexOf('*/', i);
      if (end < 0) return parts.join('');
      state.inBlockComment = false;
      i = from = end + 2;
      parts.push(' ');
      boundary = true;
      continue;
    }
    const ch = line[i];
    if (ch === '"' || ch === "'" || ch === '`') {
      parts.push(line.slice(from, i), '""');
      let j = i + 1;
      while (j < n && line[j] !== ch) j += line[j] === '\\' ? 2 : 1;
      i = from = Math.min(j + 1, n);
      boundary = false;
      continue;
    }
    if (ch === '/' && line[i + 1] === '*') {
      parts.push(line.slice(from, i));
      state.inBlockComment = true;
      i += 2;
      continue;
    }
    if (boundary && (ch === '#' || (ch === '/' && line[i + 1] === '/'))) {
      parts.push(line.slice(from, i));
      return parts.join('');
    }
    boundary = isSpace(ch);
    i++;
  }
  if (!state.inBlockComment) parts.push(line.slice(from));
  return parts.join('');
}

/** Analyzes a file line by line, so a caller can yield between lines of a large file. */
export class SourceAnalyzer {
  readonly metrics: SourceMetrics = {
    lines: 0,
    blankLines: 0,
    commentLines: 0,
    codeLines: 0,
    todos: 0,
    fixmes: 0,
    complexity: 1,
    maxNesting: 0,
  };
  private readonly state = { inBlockComment: false };
  private depth = 0;

  line(raw: string): void {
    const m = this.metrics;
    m.lines++;
    m.todos += count(TODO, raw);
    m.fixmes += count(FIXME, raw);
    const line = raw.trim();
    if (line === '') {
      m.blankLines++;
      return;
    }
    const code = codeOf(line, this.state).trim();
    if (code === '') {
      m.commentLines++;
      return;
    }
    m.codeLines++;
    m.complexity += count(DECISION, code);
    for (let i = 0; i < code.length; i++) {
      const ch = code.charCodeAt(i);
      if (ch === 0x7b || ch === 0x28 || ch === 0x5b) {
        this.depth++;
        if (this.depth > m.maxNesting) m.maxNesting = this.depth;
      } else if ((ch === 0x7d || ch === 0x29 || ch === 0x5d) && this.depth > 0) {
        this.depth--;
      }
    }
  }
}

/** The lines of `text`: `\n` or `\r\n` ends a line, and a trailing newline does not start another. */
export function* linesOf(text: string): Generator<string> {
  let from = 0;
  while (from < text.length) {
    const nl = text.indexOf('\n', from);
    const end = nl < 0 ? text.length : nl;
    yield text.slice(from, end > from && text[end - 1] === '\r' ? end - 1 : end);
    if (nl < 0) return;
    from = nl + 1;
  }
}

export function analyzeSource(text: string): SourceMetrics {
  const analyzer = new SourceAnalyzer();
  for (const line of linesOf(text)) analyzer.line(line);
  return analyzer.metrics;
}
