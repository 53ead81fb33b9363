import { catalogOf } from '../../src/worker/action-publisher';
import { builtinActions } from '../../src/worker/factory';
import { addCatalog, catalogIssues, MAX_CATALOG_VERSIONS } from '../../src/shared/action-catalog';
import { codebaseReviewSpec } from '../../src/shared/plans';
import { taskSpecSchema, type TaskSpecInput } from '../../src/shared/spec';
import { checkSpec } from '../../src/shared/spec-check';
import { ValidationError } from '../../src/shared/validation';

const catalog = catalogOf(builtinActions, 'longrun', 'test@host');
const review = codebaseReviewSpec({ taskId: 'r', root: '/repo' });
const issuesOf = (spec: TaskSpecInput) =>
  catalogIssues(taskSpecSchema().parse(spec), catalog).map((i) => `${i.path}: ${i.rule}`);

/** The review spec with one step's fields replaced. */
function withStep(phase: number, step: number, patch: Record<string, unknown>): TaskSpecInput {
  const spec = structuredClone(review) as { phases: { steps: Record<string, unknown>[] }[] };
  Object.assign(spec.phases[phase]!.steps[step]!, patch);
  return spec as unknown as TaskSpecInput;
}

describe('the action catalog a worker publishes', () => {
  it('lists every action with a JSON Schema of its input, and a version that changes with them', () => {
    expect(catalog.actions.map((a) => a.name)).toEqual([
      'codebase.analyze',
      'codebase.report',
      'codebase.scan',
      'dataset.process',
    ]);
    const scan = catalog.actions.find((a) => a.name === 'codebase.scan')!;
    expect(scan.inputSchema).toMatchObject({
      type: 'object',
      required: ['root'],
      additionalProperties: false,
    });
    const fewer = catalogOf(builtinActions.slice(1), 'longrun', 'test@host');
    expect(fewer.workerVersion).not.toBe(catalog.workerVersion);
    expect(catalogOf(builtinActions, 'longrun', 'other@host').workerVersion).toBe(catalog.workerVersion);
  });

  it('accepts the demo review, whose inputs come partly from references', () => {
    expect(issuesOf(review)).toEqual([]);
    expect(issuesOf(codebaseReviewSpec({ taskId: 'r', root: '/repo', foldersAtOnce: 2 }))).toEqual([]);
  });

  it('refuses an unknown action, naming the field, the version and what the workers run', () => {
    const [issue] = issuesOf(withStep(0, 0, { action: 'codebase.scna' }));
    expect(issue).toContain('spec.phases[0].steps[0].action: must be an action the workers run');
    expect(issue).toContain(`"codebase.scna" is unknown to worker version ${catalog.workerVersion}`);
    expect(issue).toContain('codebase.scan');
  });

  it('refuses an input the action would refuse: an unknown key, a missing field, a wrong type', () => {
    expect(issuesOf(withStep(0, 0, { input: { root: '/repo', bogus: 1 } }))).toEqual([
      'spec.phases[0].steps[0].input: Unrecognized key: "bogus"',
    ]);
    expect(issuesOf(withStep(1, 0, { input: { root: '/repo' } }))).toEqual([
      'spec.phases[1].steps[0].input.manifest: Invalid input: expected object, received undefined',
    ]);
    expect(issuesOf(withStep(0, 0, { input: { root: '/repo', maxFileBytes: 'big' } }))).toEqual([
      'spec.phases[0].steps[0].input.maxFileBytes: Invalid input: expected number, received string',
    ]);
  });

  it('keeps the newest catalogs, one per worker version', () => {
    let list = addCatalog([], catalog);
    list = addCatalog(list, { ...catalog, publishedAt: new Date(1).toISOString() });
    expect(list).toHaveLength(1);
    for (let i = 0; i < 10; i++) list = addCatalog(list, { ...catalog, workerVersion: `v${i}` });
    expect(list.map((c) => c.workerVersion)).toEqual(
      ['v9', 'v8', 'v7', 'v6', 'v5'].slice(0, MAX_CATALOG_VERSIONS)
    );
  });
});

describe('checkSpec (before connecting)', () => {
  const refused = (spec: unknown): string[] => {
    try {
      checkSpec(spec);
    } catch (err) {
      if (err instanceof ValidationError) return err.issues.map((i) => `${i.path}: ${i.rule}`);
      throw err;
    }
    return [];
  };
  it('names the field of a value that is not JSON instead of throwing a TypeError', () => {
    const circular: Record<string, unknown> = { a: 1 };
    circular.self = circular;
    const cases: [unknown, string][] = [
      [{ n: 10n }, 'spec.context.n: must be JSON: a BigInt is not'],
      [{ n: Number.NaN }, 'spec.context.n: must be JSON: NaN is not a finite number'],
      [{ n: Infinity }, 'spec.context.n: must be JSON: Infinity is not a finite number'],
      [{ f: () => 1 }, 'spec.context.f: must be JSON: a function is not'],
      [{ c: circular }, 'spec.context.c.self: must be JSON: it refers back to itself (a cycle)'],
      [{ d: new Date(0) }, 'spec.context.d: must be JSON: a Date instance is not a plain object'],
      [{ a: [1, undefined] }, 'spec.context.a[1]: must be JSON: undefined is not'],
    ];
    for (const [context, issue] of cases) {
      expect(refused({ ...review, context })[0]).toContain(issue);
    }
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(refused({ ...review, context: { deep } })[0]).toMatch(/must be JSON nested at most 64 deep/);
  });

  it('refuses unknown keys anywhere, a deadline in the past and an unknown webhook key', () => {
    expect(refused({ ...review, deadline: '2020-01-01T00:00:00Z' })).toEqual([
      'spec.deadline: must be in the future (it is 2020-01-01T00:00:00Z)',
    ]);
    expect(
      refused({ ...review, webhooks: [{ url: 'http://127.0.0.1:1/h', evnts: ['task.failed'] }] })
    ).toEqual(['spec.webhooks[0]: Unrecognized key: "evnts"']);
    expect(refused(withStep(0, 0, { retries: 3 }))).toEqual([
      'spec.phases[0].steps[0]: Unrecognized key: "retries"',
    ]);
  });
});
