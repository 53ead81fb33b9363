import { graphIssues, runsBefore, stepGraph, type GraphSpec } from '../../src/shared/graph';
import { taskSpecSchema } from '../../src/shared/spec';

type Step = GraphSpec['phases'][number]['steps'][number];
const step = (id: string, over: Partial<Step> = {}): Step => ({ id, action: 'x', input: {}, ...over });
const spec = (...phases: Array<{ id: string; maxParallel?: number; steps: Step[] }>): GraphSpec => ({
  phases,
});
const messages = (s: GraphSpec) => graphIssues(s).map((i) => `${i.path.join('.')}: ${i.message}`);

describe('step graph', () => {
  it('chains a sequential phase and puts a barrier before each later phase', () => {
    const g = stepGraph(
      spec({ id: 'p1', steps: [step('a'), step('b')] }, { id: 'p2', steps: [step('c'), step('d')] })
    );
    expect(g.nodes.map((n) => [n.id, n.after, n.afterPhase])).toEqual([
      ['a', [], null],
      ['b', [0], null],
      ['c', [], 0],
      ['d', [2], null],
    ]);
    expect(g.phaseRanges).toEqual([
      [0, 1],
      [2, 3],
    ]);
    expect(runsBefore(g, 0, 3)).toBe(true);
    expect(runsBefore(g, 3, 0)).toBe(false);
  });

  it('lets the steps of a parallel phase wait only for the previous phase; needs replace the default', () => {
    const g = stepGraph(
      spec(
        { id: 'p1', steps: [step('a')] },
        { id: 'p2', maxParallel: 3, steps: [step('b'), step('c'), step('d', { needs: ['b', 'c'] })] },
        { id: 'p3', steps: [step('e', { needs: [] })] }
      )
    );
    expect(g.nodes.map((n) => [n.id, n.after, n.afterPhase])).toEqual([
      ['a', [], null],
      ['b', [], 0],
      ['c', [], 0],
      ['d', [1, 2], null],
      ['e', [], null],
    ]);
    expect(runsBefore(g, 1, 2)).toBe(false);
    expect(runsBefore(g, 0, 3)).toBe(true);
    expect(runsBefore(g, 0, 4)).toBe(false);
  });
});

describe('graph rules', () => {
  it('accepts the old sequential shape, forward needs within a DAG, and $from to upstream steps', () => {
    expect(
      messages(
        spec(
          { id: 'p1', steps: [step('scan'), step('use', { input: { m: { $from: 'scan.manifest' } } })] },
          { id: 'p2', maxParallel: 2, steps: [step('late', { needs: ['early'] }), step('early')] }
        )
      )
    ).toEqual([]);
  });

  it('names unknown and self needs', () => {
    expect(messages(spec({ id: 'p', steps: [step('a', { needs: ['a', 'ghost'] })] }))).toEqual([
      'phases.0.steps.0.needs.0: a step cannot need itself',
      'phases.0.steps.0.needs.1: names no step of this task ("ghost")',
    ]);
  });

  it('names a cycle with the steps in it', () => {
    const issues = messages(
      spec({
        id: 'p',
        maxParallel: 3,
        steps: [step('a', { needs: ['c'] }), step('b', { needs: ['a'] }), step('c', { needs: ['b'] })],
      })
    );
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(
      /^phases\.0\.steps\.\d\.needs: the steps wait for each other in a cycle: (\w) → \w → \w → \1 /
    );
  });

  it('finds a cycle through a phase barrier', () => {
    // b (phase 2) waits for all of phase 1; a (phase 1) needs b.
    const issues = messages(
      spec({ id: 'p1', steps: [step('a', { needs: ['b'] })] }, { id: 'p2', steps: [step('b')] })
    );
    expect(issues[0]).toMatch(/cycle: .*a.*b|cycle: .*b.*a/);
  });

  it('refuses a $from to an unknown step, to itself, or to a step that does not run first', () => {
    expect(
      messages(
        spec({
          id: 'p',
          maxParallel: 2,
          steps: [
            step('a', { input: { x: { $from: 'nobody.x' }, y: { $from: 'a.y' } } }),
            step('b', { input: { z: { $from: 'c.z' } } }),
            step('c'),
          ],
        })
      )
    ).toEqual([
      'phases.0.steps.0.input.x.$from: "nobody.x" names no step of this task ("nobody")',
      'phases.0.steps.0.input.y.$from: "a.y": a step cannot read its own output',
      'phases.0.steps.1.input.z.$from: "c.z": step "c" does not run before "b"; add it to "needs" or move it earlier',
    ]);
  });

  it('checks the fan-out fields', () => {
    expect(
      messages(
        spec(
          { id: 'p1', steps: [step('a', { maxParallel: 4, input: { f: { $item: true } } })] },
          {
            id: 'p2',
            steps: [
              step('b', { forEach: [1, 2], repeat: { times: 2 } }),
              step('c', { forEach: { $from: 'd.items' } }),
            ],
          },
          { id: 'p3', steps: [step('d'), step('e', { repeat: {} })] }
        )
      )
    ).toEqual([
      'phases.0.steps.0.maxParallel: applies only to a forEach step',
      'phases.0.steps.0.input: $item is only available in a forEach step',
      'phases.1.steps.0.repeat: a forEach step cannot repeat; repeat a step after it',
      'phases.1.steps.1.forEach.$from: "d.items": step "d" does not run before "c"; add it to "needs" or move it earlier',
      'phases.2.steps.1.repeat.times: a step that repeats without "times" never ends: give "times" or mark the task "category": "indefinite"',
    ]);
    expect(
      messages({ category: 'indefinite', phases: [{ id: 'p', steps: [step('watch', { repeat: {} })] }] })
    ).toEqual([]);
  });

  it('reports duplicate ids before anything else', () => {
    expect(
      messages(spec({ id: 'p', steps: [step('a'), step('a')] }, { id: 'p', steps: [step('b')] }))
    ).toEqual([
      'phases.0.steps.1.id: duplicate step id "a" (also at phases[0].steps[0])',
      'phases.1.id: duplicate phase id "p"',
    ]);
  });

  it('runs inside the spec schema, with the full path of each field', () => {
    const parsed = taskSpecSchema().safeParse({
      v: 1,
      taskId: 't',
      agent: 'a',
      phases: [{ id: 'p', steps: [{ id: 'a', action: 'x', needs: ['zz'] }] }],
    });
    expect(parsed.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual([
      'phases.0.steps.0.needs.0: names no step of this task ("zz")',
    ]);
  });

  it('accepts a 5,000-step sequential spec where each step reads the one before', () => {
    const steps = Array.from({ length: 5_000 }, (_, i) =>
      step(`s${i}`, i > 0 ? { input: { prev: { $from: `s${i - 1}.label` } } } : {})
    );
    expect(messages(spec({ id: 'p', steps }))).toEqual([]);
  });
});
