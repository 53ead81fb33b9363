/**
 * The actions a task queue's workers run, with their input schemas (JSON Schema), as the workers
 * publish them: a client checks a spec against this before it starts a task, so an unknown action
 * or an input the action would refuse is an error at `start`, not a failed task an hour later.
 *
 * Workers publish by signal to one small workflow per task queue (`actionCatalog`), which carries
 * the latest catalogs as the input of its current run: a client reads them from that run's first
 * event with one call, even while no worker runs.
 */
import { z } from 'zod';
import { lazy } from './lazy';
import { WAIT_ACTION, type TaskSpec } from './spec';
import { APPROVAL_ACTION } from './approvals';
import { formatPath, issuesOf, type ValidationIssue } from './validation';

export const CATALOG_WORKFLOW_TYPE = 'actionCatalog';
export const catalogWorkflowId = (taskQueue: string): string => `longrun-actions-${taskQueue}`;
/** The memo field holding a summary of the catalogs (versions and action names) for the Web UI. */
export const CATALOG_MEMO = 'longrunActions';
/** Catalogs kept per task queue (one per worker version seen lately). */
export const MAX_CATALOG_VERSIONS = 5;

export const publishedActionSchema = lazy(() =>
  z.strictObject({
    name: z.string().min(1).max(200),
    description: z.string().max(1_000),
    /** JSON Schema (draft 2020-12) of the action's input, as a caller writes it. */
    inputSchema: z.record(z.string(), z.unknown()),
  })
);
export type PublishedAction = z.output<ReturnType<typeof publishedActionSchema>>;

export const actionCatalogSchema = lazy(() =>
  z.strictObject({
    taskQueue: z.string().min(1),
    /** longrun's package version on the worker, `+` the hash of its actions and schemas. */
    workerVersion: z.string().min(1).max(100),
    /** The publishing worker's identity (pid@host). */
    worker: z.string().max(300),
    publishedAt: z.iso.datetime(),
    actions: z.array(publishedActionSchema()).max(1_000),
  })
);
export type ActionCatalog = z.output<ReturnType<typeof actionCatalogSchema>>;

/** Adds `catalog` to the list (newest first), replacing an older copy of the same worker version. */
export function addCatalog(list: readonly ActionCatalog[], catalog: ActionCatalog): ActionCatalog[] {
  const others = list.filter((c) => c.workerVersion !== catalog.workerVersion);
  return [catalog, ...others].slice(0, MAX_CATALOG_VERSIONS);
}

/** What the memo shows: per version, who published it when, and the action names. */
export function catalogSummary(catalogs: readonly ActionCatalog[]) {
  return catalogs.map((c) => ({
    workerVersion: c.workerVersion,
    publishedAt: c.publishedAt,
    worker: c.worker,
    actions: c.actions.map((a) => a.name),
  }));
}

/** Where an input holds a `$from` or `$item` reference: its value is known only when the step runs. */
function referencePaths(value: unknown, path: PropertyKey[] = [], out: string[] = []): string[] {
  if (typeof value !== 'object' || value === null) return out;
  if (!Array.isArray(value) && ('$from' in value || '$item' in value)) {
    out.push(formatPath('', path));
    return out;
  }
  for (const [key, inner] of Object.entries(value)) {
    referencePaths(inner, [...path, Array.isArray(value) ? Number(key) : key], out);
  }
  return out;
}

const under = (path: string, prefix: string): boolean =>
  path === prefix || path.startsWith(`${prefix}.`) || path.startsWith(`${prefix}[`);

const compiled = new WeakMap<PublishedAction, z.ZodType | null>();
function schemaOf(action: PublishedAction): z.ZodType | null {
  if (!compiled.has(action)) {
    let schema: z.ZodType | null = null;
    try {
      schema = z.fromJSONSchema(action.inputSchema);
    } catch {
      schema = null; // a schema this client cannot read: the worker still checks the input
    }
    compiled.set(action, schema);
  }
  return compiled.get(action) ?? null;
}

/**
 * What in `spec` the catalog's workers would refuse: an unknown action, or a step input that breaks
 * its action's schema (values given by references are checked when the step runs, not here).
 */
export function catalogIssues(spec: TaskSpec, catalog: ActionCatalog): ValidationIssue[] {
  const byName = new Map(catalog.actions.map((a) => [a.name, a]));
  const names = [...byName.keys()].sort().join(', ');
  const issues: ValidationIssue[] = [];
  spec.phases.forEach((phase, p) => {
    phase.steps.forEach((step, s) => {
      const at = `spec.phases[${p}].steps[${s}]`;
      // Run by the workflow itself, checked by the spec schema.
      if (step.action === WAIT_ACTION || step.action === APPROVAL_ACTION) return;
      const action = byName.get(step.action);
      if (!action) {
        issues.push({
          path: `${at}.action`,
          rule: `must be an action the workers run: "${step.action}" is unknown to worker version ${catalog.workerVersion} (it runs ${names || 'no actions'})`,
        });
        return;
      }
      const schema = schemaOf(action);
      if (!schema) return;
      const parsed = schema.safeParse(step.input);
      if (parsed.success) return;
      const references = referencePaths(step.input);
      for (const issue of issuesOf(parsed.error)) {
        const path = issue.path === '(root)' ? '' : issue.path;
        if (references.some((ref) => under(path, ref))) continue;
        issues.push({ path: path ? `${at}.input.${path}` : `${at}.input`, rule: issue.rule });
      }
    });
  });
  return issues;
}

/** What a worker publishes for an action: its input schema as JSON Schema. */
export function publishedAction(name: string, description: string, input: z.ZodType): PublishedAction {
  const inputSchema = z.toJSONSchema(input, { io: 'input', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  return { name, description, inputSchema };
}
