/**
 * Static metrics of one source file. Pure and deterministic, so it is unit-tested directly.
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

const DECISION = /\b(?:if|for|while|case|catch|elif|except)\b|&&|\|\||\?\?|\?(?=[^.?:]*:)/g;
const TODO = /\bTODO\b/g;
const FIXME = /\bFIXME\b/g;

function count(re: RegExp, text: string): number {
  re.lastIndex = 0;
  let n = 0;
  while (re.exec(text)) n++;
  return n;
}

/** Removes string literals so that keywords inside them do not count. */
function stripStrings(line: string): string {
  return line.replace(/(["'`])(?:\\.|(?!\1).)*\1/g, '""');
}

export function analyzeSource(text: string): SourceMetrics {
  const metrics: SourceMetrics = {
    lines: 0,
    blankLines: 0,
    commentLines: 0,
    codeLines: 0,
    todos: 0,
    fixmes: 0,
    complexity: 1,
    maxNesting: 0,
  };
  if (text.length === 0) return metrics;
  const lines = text.split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop(); // a trailing newline ends the last line
  let inBlockComment = false;
  let depth = 0;
  for (const raw of lines) {
    metrics.lines++;
    metrics.todos += count(TODO, raw);
    metrics.fixmes += count(FIXME, raw);
    const line = raw.trim();
    if (line === '') {
      metrics.blankLines++;
      continue;
    }
    let code = line;
    if (inBlockComment) {
      const end = code.indexOf('*/');
      if (end < 0) {
        metrics.commentLines++;
        continue;
      }
      inBlockComment = false;
      code = code.slice(end + 2).trim();
    }
    code = stripStrings(code);
    // Drop block comments that open and close on this line, then a trailing one that stays open.
    code = code.replace(/\/\*.*?\*\//g, ' ');
    const open = code.indexOf('/*');
    if (open >= 0) {
      inBlockComment = true;
      code = code.slice(0, open);
    }
    code = code.replace(/(^|\s)(\/\/|#).*$/, '$1').trim();
    if (code === '') {
      metrics.commentLines++;
      continue;
    }
    metrics.codeLines++;
    metrics.complexity += count(DECISION, code);
    for (const ch of code) {
      if (ch === '{' || ch === '(' || ch === '[') {
        depth++;
        if (depth > metrics.maxNesting) metrics.maxNesting = depth;
      } else if (ch === '}' || ch === ')' || ch === ']') {
        depth = Math.max(0, depth - 1);
      }
    }
  }
  return metrics;
}
