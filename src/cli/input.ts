/** Checks of arguments, requests and spec files, all before connecting: a usage error exits 2 at once. */
import { readFileSync } from 'node:fs';
import { CONTROL_SCHEMAS, type ControlKind } from '../shared/control';
import { taskIdSchema } from '../shared/spec';
import { parseOrThrow, ValidationError } from '../shared/validation';

/** A commander option parser for whole numbers above zero, naming the flag when it refuses one. */
export function positiveInt(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0) {
      throw new ValidationError('arguments', [
        { path: flag, rule: `must be a positive whole number (got "${value}")` },
      ]);
    }
    return n;
  };
}

/** Task and checkpoint ids follow the spec's id rule, whatever the server's state. */
export function checkId(value: string, what: string): string {
  const parsed = taskIdSchema().safeParse(value);
  if (!parsed.success) {
    throw new ValidationError('arguments', [
      { path: what, rule: `${parsed.error.issues[0]?.message ?? 'is not valid'} (got "${value}")` },
    ]);
  }
  return value;
}

/** A control request's fields, checked as the task would check them. */
export function checkRequest(kind: ControlKind, request: Record<string, unknown>): void {
  parseOrThrow(CONTROL_SCHEMAS[kind](), request, `${kind} request`);
}

export function readSpecFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ValidationError('spec file', [
      { path, rule: `cannot be read (${(err as NodeJS.ErrnoException).code})` },
    ]);
  }
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new ValidationError('spec file', [{ path, rule: `is not valid JSON (${(err as Error).message})` }]);
  }
}

/** Copies the options that were given, so an unset one is absent rather than `undefined`. */
export function given<T extends Record<string, unknown>>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<T>;
}
