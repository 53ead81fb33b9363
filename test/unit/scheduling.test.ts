import { stepGraph, type GraphSpec } from '../../src/shared/graph';
import {
  addIndex,
  addRange,
  countIndices,
  formatRanges,
  hasIndex,
  missingIndices,
  unionRanges,
} from '../../src/shared/ranges';
import { readyUnits, type RunningUnitView, type SchedulerView } from '../../src/shared/scheduling';
import type { FanState } from '../../src/shared/task-state';

describe('ranges', () => {
  it('adds indices in any order into merged, sorted ranges', () => {
    let set = addIndex([], 5);
    for (const i of [3, 4, 9, 0, 1, 2, 7]) set = addIndex(set, i);
    expect(set).toEqual([
      [0, 5],
      [7, 7],
      [9, 9],
    ]);
    expect(addIndex(set, 8)).toEqual([
      [0, 5],
      [7, 9],
    ]);
    expect(addRange(set, [6, 20])).toEqual([[0, 20]]);
    expect(countIndices(set)).toBe(8);
    expect([0, 5, 6, 7, 10].map((i) => hasIndex(set, i))).toEqual([true, true, false, true, false]);
    expect(formatRanges(set)).toBe('0-5, 7, 9');
    expect(
      unionRanges(
        [[0, 2]],
        [
          [3, 4],
          [10, 11],
        ]
      )
    ).toEqual([
      [0, 4],
      [10, 11],
    ]);
  });

  it('keeps 10,000 items done in any order as one range', () => {
    let set: [number, number][] = [];
    for (let i = 0; i < 10_000; i++) set = addIndex(set, (i * 7919) % 10_000);
    expect(set).toEqual([[0, 9_999]]);
  });

  it('lists the next missing indices, skipping every excluded set', () => {
    expect(missingIndices(10, [[[0, 2]], [[4, 4]], [[6, 8]]], 3)).toEqual([3, 5, 9]);
    expect(missingIndices(10, [[[0, 9]]], 3)).toEqual([]);
    expect(missingIndices(3, [], 10)).toEqual([0, 1, 2]);
    expect(missingIndices(5, [[[2, 100]]], 5)).toEqual([0, 1]);
  });
});

type Step = GraphSpec['phases'][number]['steps'][number];
const step = (id: string, over: Partial<Step> = {}): Step => ({ id, action: 'x', input: {}, ...over });

function scheduler(
  phases: GraphSpec['phases'],
  state: { done?: [number, number][]; fans?: Record<string, FanState>; running?: RunningUnitView[] } = {},
  taskMaxParallel = 32
): SchedulerView {
  const graph = stepGraph({ phases });
  const steps = phases.flatMap((p) =>
    p.steps.map((s) => ({ id: s.id, forEach: s.forEach !== undefined, maxParallel: s.maxParallel ?? 4 }))
  );
  return {
    graph,
    steps,
    phaseMaxParallel: phases.map((p) => p.maxParallel),
    taskMaxParallel,
    done: state.done ?? [],
    fans: state.fans ?? {},
    running: state.running ?? [],
  };
}
const fan = (total: number, over: Partial<FanState> = {}): FanState => ({
  total,
  artifact: null,
  done: [],
  failed: [],
  stopped: {},
  ...over,
});

describe('readyUnits', () => {
  const sequential = [
    { id: 'p1', steps: [step('a'), step('b')] },
    { id: 'p2', steps: [step('c')] },
  ];

  it('runs an old-style spec one step at a time, in order', () => {
    expect(readyUnits(scheduler(sequential))).toEqual([{ kind: 'step', stepIndex: 0 }]);
    expect(
      readyUnits(scheduler(sequential, { running: [{ stepIndex: 0, kind: 'step', item: null }] }))
    ).toEqual([]);
    expect(readyUnits(scheduler(sequential, { done: [[0, 0]] }))).toEqual([{ kind: 'step', stepIndex: 1 }]);
    expect(readyUnits(scheduler(sequential, { done: [[0, 1]] }))).toEqual([{ kind: 'step', stepIndex: 2 }]);
    expect(readyUnits(scheduler(sequential, { done: [[0, 2]] }))).toEqual([]);
  });

  it('starts a parallel phase up to its maxParallel, then one more as each ends', () => {
    const phases = [{ id: 'p', maxParallel: 2, steps: [step('a'), step('b'), step('c')] }];
    expect(readyUnits(scheduler(phases))).toEqual([
      { kind: 'step', stepIndex: 0 },
      { kind: 'step', stepIndex: 1 },
    ]);
    const running: RunningUnitView[] = [{ stepIndex: 1, kind: 'step', item: null }];
    expect(readyUnits(scheduler(phases, { done: [[0, 0]], running }))).toEqual([
      { kind: 'step', stepIndex: 2 },
    ]);
  });

  it('starts steps whose needs are done, across phases', () => {
    const phases = [
      { id: 'p1', steps: [step('a'), step('slow')] },
      { id: 'p2', steps: [step('b', { needs: ['a'] })] },
    ];
    expect(
      readyUnits(scheduler(phases, { done: [[0, 0]], running: [{ stepIndex: 1, kind: 'step', item: null }] }))
    ).toEqual([{ kind: 'step', stepIndex: 2 }]);
  });

  it('opens a fan-out, starts maxParallel items, and gathers once every item is done or failed', () => {
    const phases = [{ id: 'p', steps: [step('f', { forEach: [], maxParallel: 3 })] }];
    expect(readyUnits(scheduler(phases))).toEqual([{ kind: 'fan-init', stepIndex: 0 }]);
    expect(
      readyUnits(scheduler(phases, { fans: { f: fan(5) } })).map((u) => ('item' in u ? u.item : u.kind))
    ).toEqual([0, 1, 2]);
    const running: RunningUnitView[] = [
      { stepIndex: 0, kind: 'item', item: 1 },
      { stepIndex: 0, kind: 'item', item: 3 },
    ];
    expect(
      readyUnits(
        scheduler(phases, { fans: { f: fan(5, { done: [[0, 0]], failed: [[2, 2]] }) }, running })
      ).map((u) => ('item' in u ? u.item : u.kind))
    ).toEqual([4]);
    expect(
      readyUnits(
        scheduler(phases, {
          fans: {
            f: fan(5, {
              done: [
                [0, 1],
                [3, 4],
              ],
              failed: [[2, 2]],
            }),
          },
        })
      )
    ).toEqual([{ kind: 'gather', stepIndex: 0 }]);
    expect(readyUnits(scheduler(phases, { fans: { f: fan(0) } }))).toEqual([
      { kind: 'gather', stepIndex: 0 },
    ]);
  });

  it('keeps the whole task within its maxParallel', () => {
    const phases = [
      {
        id: 'p',
        maxParallel: 10,
        steps: [step('f', { forEach: [], maxParallel: 8 }), step('g', { forEach: [], maxParallel: 8 })],
      },
    ];
    const units = readyUnits(scheduler(phases, { fans: { f: fan(100), g: fan(100) } }, 10));
    expect(units).toHaveLength(10);
    expect(units.filter((u) => u.stepIndex === 0)).toHaveLength(8);
  });
});
