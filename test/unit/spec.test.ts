import { codebaseReviewSpec } from '../../src/shared/plans';
import {
  DEFAULT_QUOTA_WAIT_MS,
  flattenSteps,
  quotaWaitOf,
  referencedSteps,
  stepTimeoutMs,
  taskSpecSchema,
} from '../../src/shared/spec';
import { resolveStepInput } from '../../src/shared/step-io';
import { parseOrThrow, ValidationError } from '../../src/shared/validation';

const minimal = {
  v: 1,
  taskId: 'task-1',
  agent: 'demo',
  phases: [{ id: 'p1', steps: [{ id: 's1', action: 'demo.run' }] }],
};

function issuesFor(spec: unknown): string[] {
  try {
    parseOrThrow(taskSpecSchema(), spec, 'task spec', 'spec');
  } catch (err) {
    if (err instanceof ValidationError) return err.issues.map((i) => `${i.path}: ${i.rule}`);
    throw err;
  }
  return [];
}

describe('taskSpecSchema()', () => {
  it('reads the quota wait: an hour by default, a duration, or false for none (rate limits retried)', () => {
    const withWait = (quotaWait?: unknown) =>
      quotaWaitOf(
        taskSpecSchema().parse({
          ...minimal,
          ...(quotaWait === undefined ? {} : { timeouts: { quotaWait } }),
        })
      );
    expect(withWait()).toBe(DEFAULT_QUOTA_WAIT_MS);
    expect(withWait('2h')).toBe(7_200_000);
    expect(withWait(false)).toBe(0);
    expect(() => withWait(true)).toThrow();
    expect(() => withWait('8d')).toThrow(); // longer than a week
  });

  it('accepts a minimal spec and fills in defaults', () => {
    const spec = taskSpecSchema().parse(minimal);
    expect(spec.durability).toBe('standard');
    expect(spec.context).toEqual({});
    expect(spec.phases[0]?.steps[0]).toEqual({
      id: 's1',
      action: 'demo.run',
      input: {},
      weight: 1,
      critical: true,
      risky: false,
      milestone: false,
      timeout: 'long',
    });
  });

  it('accepts the demo codebase review spec', () => {
    const spec = taskSpecSchema().parse(codebaseReviewSpec({ taskId: 'r1', root: 'src' }));
    expect(flattenSteps(spec).map((s) => s.step.action)).toEqual([
      'codebase.scan',
      'codebase.analyze',
      'codebase.report',
    ]);
  });

  it('names the field and the rule for each problem', () => {
    const issues = issuesFor({
      ...minimal,
      v: 2,
      taskId: 'has space',
      durability: 'extreme',
      phases: [{ id: 'p1', steps: [{ id: 's1' }] }],
    });
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^spec\.v: /),
        expect.stringMatching(/^spec\.taskId: must start with a letter or digit/),
        expect.stringMatching(/^spec\.durability: /),
        expect.stringMatching(/^spec\.phases\[0\]\.steps\[0\]\.action: /),
      ])
    );
  });

  it('rejects duplicate step ids, empty phases and unknown fields', () => {
    const issues = issuesFor({
      ...minimal,
      extra: true,
      phases: [
        { id: 'p1', steps: [{ id: 's1', action: 'a' }] },
        { id: 'p2', steps: [{ id: 's1', action: 'b' }] },
        { id: 'p3', steps: [] },
      ],
    });
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^spec: .*extra/),
        'spec.phases[1].steps[0].id: duplicate step id "s1" (also at phases[0].steps[0])',
        'spec.phases[2].steps: a phase needs at least one step',
      ])
    );
  });

  it('validates the deadline, timeout classes and step flags', () => {
    const issues = issuesFor({
      ...minimal,
      deadline: 'tomorrow',
      timeouts: { quick: 5 },
      phases: [{ id: 'p1', steps: [{ id: 's1', action: 'a', risky: 'yes', timeout: 'forever' }] }],
    });
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^spec\.deadline: /),
        expect.stringMatching(/^spec\.timeouts\.quick: /),
        expect.stringMatching(/^spec\.phases\[0\]\.steps\[0\]\.risky: /),
        expect.stringMatching(/^spec\.phases\[0\]\.steps\[0\]\.timeout: /),
      ])
    );
    expect(issuesFor({ ...minimal, deadline: '2027-01-01T00:00:00Z' })).toEqual([]);
  });

  it('finds the steps later steps reference and the timeout of each class', () => {
    const spec = taskSpecSchema().parse({
      ...codebaseReviewSpec({ taskId: 'r1', root: 'src' }),
      timeouts: { quick: 5_000 },
    });
    expect([...referencedSteps(spec)].sort()).toEqual(['analyze', 'scan']);
    expect(stepTimeoutMs(spec, 'quick')).toBe(5_000);
    expect(stepTimeoutMs(spec, 'long')).toBe(24 * 60 * 60_000);
  });

  it('rejects a heartbeat timeout under one second', () => {
    expect(issuesFor({ ...minimal, heartbeatTimeoutMs: 10 })).toEqual([
      expect.stringMatching(/^spec\.heartbeatTimeoutMs: /),
    ]);
  });
});

describe('resolveStepInput', () => {
  const outputs = { scan: { manifest: { sha256: 'ab', bytes: 1 }, files: 3 } };

  it('replaces $from references, also nested in arrays and objects', () => {
    expect(
      resolveStepInput({ a: { $from: 'scan.manifest' }, list: [{ $from: 'scan.files' }], keep: 'x' }, outputs)
    ).toEqual({ a: { sha256: 'ab', bytes: 1 }, list: [3], keep: 'x' });
  });

  it('names the reference when a step or field is missing', () => {
    expect(() => resolveStepInput({ a: { $from: 'nope.x' } }, outputs)).toThrow(
      'input.a: $from "nope.x" names step "nope", which has no output yet'
    );
    expect(() => resolveStepInput({ a: { $from: 'scan.missing' } }, outputs)).toThrow(
      'input.a: $from "scan.missing" has no field "missing"'
    );
  });
});
