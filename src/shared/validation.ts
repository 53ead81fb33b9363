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
