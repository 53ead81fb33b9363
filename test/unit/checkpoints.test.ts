import {
  pruneCheckpoints,
  stepsRedoneByRollback,
  type CheckpointRecord,
  type CheckpointType,
} from '../../src/shared/checkpoints';
import { appendSample } from '../../src/shared/samples';

function rec(i: number, type: CheckpointType): CheckpointRecord {
  return {
    id: `${type}-${i}`,
    type,
    label: '',
    stepIndex: i,
    stepId: `s${i}`,
    cursor: null,
    runId: 'r',
    resetEventId: i,
    at: i,
  };
}

describe('pruneCheckpoints', () => {
  it('keeps everything while there are few records', () => {
    const records = [rec(1, 'automatic'), rec(2, 'manual'), rec(3, 'phase')];
    expect(pruneCheckpoints(records)).toEqual(records);
  });

  it('keeps the latest 10 plus every milestone and phase record, in order', () => {
    const records = Array.from({ length: 30 }, (_, i) =>
      rec(i, i % 10 === 0 ? 'milestone' : i % 7 === 0 ? 'phase' : 'automatic')
    );
    const kept = pruneCheckpoints(records).map((r) => r.stepIndex);
    expect(kept).toEqual([0, 7, 10, 14, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29]);
  });

  it('caps the total at 50, dropping the oldest milestone and phase records first', () => {
    const records = [
      ...Array.from({ length: 60 }, (_, i) => rec(i, i % 2 ? 'phase' : 'milestone')),
      ...Array.from({ length: 10 }, (_, i) => rec(100 + i, 'manual')),
    ];
    const kept = pruneCheckpoints(records);
    expect(kept).toHaveLength(50);
    expect(kept.slice(-10).map((r) => r.type)).toEqual(Array(10).fill('manual'));
    expect(kept[0]?.stepIndex).toBe(20);
  });

  it('honours custom limits', () => {
    const records = Array.from({ length: 8 }, (_, i) => rec(i, 'manual'));
    expect(pruneCheckpoints(records, { keepLatest: 3, max: 5 }).map((r) => r.stepIndex)).toEqual([5, 6, 7]);
  });
});

describe('stepsRedoneByRollback', () => {
  const ids = ['a', 'b', 'c', 'd'];
  it('lists the steps done now that were not done at the checkpoint (v1 records: from its step on)', () => {
    expect(stepsRedoneByRollback({ stepIndex: 1 }, ids, [[0, 2]])).toEqual(['b', 'c']);
    expect(stepsRedoneByRollback({ stepIndex: 3 }, ids, [[0, 2]])).toEqual([]);
    expect(stepsRedoneByRollback({ stepIndex: 0 }, ids, [[0, 3]])).toEqual(ids);
  });

  it('reads a parallel position: steps done out of order are redone only if not done then', () => {
    const position = {
      done: [
        [0, 0],
        [2, 2],
      ] as [number, number][],
      stopped: {},
      fans: {},
    };
    expect(stepsRedoneByRollback({ stepIndex: 1, position }, ids, [[0, 3]])).toEqual(['b', 'd']);
  });
});

describe('appendSample', () => {
  it('stays bounded and keeps both the first and the newest samples', () => {
    let history: number[] = [];
    for (let i = 0; i < 1000; i++) history = appendSample(history, i, 100);
    expect(history.length).toBeLessThanOrEqual(100);
    expect(history[0]).toBe(0);
    expect(history.at(-1)).toBe(999);
    expect([...history].sort((a, b) => a - b)).toEqual(history);
  });
});
