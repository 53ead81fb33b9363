import type { z } from 'zod';

/** One failed rule: where (a dotted path such as `phases[0].steps[1].action`) and what rule. */
export interface ValidationIssue {
  path: string;
  rule: string;
}

/** `phases[0].steps[1].action` from zod's path array. */
export function formatPath(root: string, path: readonly PropertyKey[]): string {
  let out = root;
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out || '(root)';
}

export function issuesOf(error: z.ZodError, root = ''): ValidationIssue[] {
  return error.issues.map((issue) => ({ path: formatPath(root, issue.path), rule: issue.message }));
}

/** Thrown by `parseOrThrow` when a value breaks a schema; the message lists every field and rule. */
export class ValidationError extends Error {
  override readonly name = 'ValidationError';
  constructor(
    readonly what: string,
    readonly issues: ValidationIssue[]
  ) {
    super(`invalid ${what}: ${issues.map((i) => `${i.path}: ${i.rule}`).join('; ')}`);
  }
}

export function parseOrThrow<S extends z.ZodType>(
  schema: S,
  value: unknown,
  what: string,
  root = ''
): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw new ValidationError(what, issuesOf(result.error, root));
  return result.data;
}

/** Deepest nesting a JSON value may have (a deeper one overflows stacks long before it is useful). */
export const MAX_JSON_DEPTH = 64;

/**
 * What in `value` is not JSON: a BigInt, NaN or Infinity, a function, a symbol, undefined in an
 * array, a class instance, a cycle, or nesting deeper than `MAX_JSON_DEPTH`. Checked before a value
 * is serialized, so a caller gets the field instead of a `TypeError` from deep inside a payload codec.
 */
export function jsonIssues(value: unknown, root = ''): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const open = new Set<object>();
  const visit = (v: unknown, path: PropertyKey[]): void => {
    if (issues.length >= 20) return;
    const at = (rule: string) => issues.push({ path: formatPath(root, path), rule });
    switch (typeof v) {
      case 'string':
      case 'boolean':
        return;
      case 'number':
        if (!Number.isFinite(v)) at(`must be JSON: ${String(v)} is not a finite number`);
        return;
      case 'bigint':
        return void at('must be JSON: a BigInt is not (write it as a string or a number)');
      case 'function':
      case 'symbol':
        return void at(`must be JSON: a ${typeof v} is not`);
      case 'undefined':
        return; // dropped by JSON in an object; in an array it is reported below
      case 'object':
        break;
    }
    if (v === null) return;
    const obj = v;
    if (open.has(obj)) return void at('must be JSON: it refers back to itself (a cycle)');
    if (path.length >= MAX_JSON_DEPTH) return void at(`must be JSON nested at most ${MAX_JSON_DEPTH} deep`);
    // A plain object's prototype is some realm's Object.prototype (whose own prototype is null).
    const proto = Object.getPrototypeOf(obj) as object | null;
    if (!Array.isArray(obj) && proto !== null && Object.getPrototypeOf(proto) !== null) {
      return void at(`must be JSON: a ${obj.constructor?.name ?? 'class'} instance is not a plain object`);
    }
    open.add(obj);
    if (Array.isArray(obj)) {
      obj.forEach((item, i) => {
        if (item === undefined)
          issues.push({ path: formatPath(root, [...path, i]), rule: 'must be JSON: undefined is not' });
        else visit(item, [...path, i]);
      });
    } else {
      for (const [key, inner] of Object.entries(obj)) visit(inner, [...path, key]);
    }
    open.delete(obj);
  };
  visit(value, []);
  return issues;
}
