import { existsSync, readFileSync } from 'node:fs';

/** One line of `codebase.analyze`'s append-only audit log (written outside Temporal, one per file). */
export interface AuditLine {
  pid: number;
  attempt: number;
  index: number;
  path: string;
  at: number;
}

/** The audit log's complete lines (a line cut short by a SIGKILL is left out). */
export function readAudit(path: string): AuditLine[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.endsWith('}'))
    .map((line) => JSON.parse(line) as AuditLine);
}
