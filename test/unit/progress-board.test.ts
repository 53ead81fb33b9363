import {
  applyReport,
  BOARD_ENTRY_TTL_MS,
  boardReportSchema,
  entriesOf,
  entryKey,
  heartbeatCadenceMs,
  newestBeats,
  type BoardEntry,
} from '../../src/shared/progress-board';
import { needsHeartbeats, retryWarning } from '../../src/client/progress';
import type { TaskProgress } from '../../src/shared/progress';

const entry = (over: Partial<BoardEntry> = {}): BoardEntry => ({
  taskId: 't1',
  stepId: 's',
  done: 1,
  total: 10,
  at: 1_000,
  ...over,
});

describe('applyReport', () => {
  it('keeps the newer of two entries for one step, whatever order they arrive in', () => {
    const newer = entry({ done: 5, at: 2_000 });
    const older = entry({ done: 3, at: 1_500 });
    const a = applyReport(
      applyReport({}, { worker: 'w1', entries: [newer], gone: [] }, 2_000),
      {
        worker: 'w2',
        entries: [older],
        gone: [],
      },
      2_100
    );
    expect(Object.values(a)).toEqual([newer]);
  });

  it('drops ended steps and entries past the TTL, keeps fan-out items apart', () => {
    const items = [entry({ item: 0 }), entry({ item: 1 }), entry({ taskId: 't2', at: 50_000 })];
    let board = applyReport({}, { worker: 'w', entries: items, gone: [] }, 1_000);
    expect(Object.keys(board)).toHaveLength(3);
    board = applyReport(board, { worker: 'w', entries: [], gone: [entryKey(entry({ item: 0 }))] }, 2_000);
    expect(entriesOf(board, ['t1']).map((e) => e.item)).toEqual([1]);
    board = applyReport(board, { worker: 'w', entries: [], gone: [] }, 1_000 + BOARD_ENTRY_TTL_MS + 1);
    expect(entriesOf(board, ['t1', 't2']).map((e) => e.taskId)).toEqual(['t2']);
  });

  it('refuses a malformed report, naming the field', () => {
    const parsed = boardReportSchema().safeParse({
      worker: 'w',
      entries: [{ taskId: 't', done: -1 }],
      gone: [],
    });
    expect(parsed.success).toBe(false);
    const paths = parsed.success ? [] : parsed.error.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['entries.0.done', 'entries.0.stepId']));
  });
});

describe('heartbeatCadenceMs', () => {
  it('stays at the floor under the budget and grows past it, up to half the heartbeat timeout', () => {
    expect(heartbeatCadenceMs(50, 100, 1_000, 30_000)).toBe(1_000);
    expect(heartbeatCadenceMs(500, 100, 1_000, 30_000)).toBe(5_000);
    expect(heartbeatCadenceMs(5_000, 100, 1_000, 30_000)).toBe(15_000);
    expect(heartbeatCadenceMs(5_000, 100, 1_000, 5_000)).toBe(2_500);
    expect(heartbeatCadenceMs(5_000, 0, 1_000, 30_000)).toBe(1_000);
    expect(heartbeatCadenceMs(0, 100, 1_000, undefined)).toBe(1_000);
  });
});

describe('newestBeats and needsHeartbeats', () => {
  it('keeps per step and item the beat with the later time', () => {
    const beats = newestBeats(
      [
        { stepId: 's', done: 4, total: 9, at: 200 },
        { stepId: 'f', item: 1, done: 1, total: 2, at: 50 },
      ],
      [
        { stepId: 's', done: 2, total: 9, at: 100 },
        { stepId: 'f', item: 1, done: 2, total: 2, at: 60 },
      ]
    );
    expect(beats.map((b) => [b.stepId, b.done])).toEqual([
      ['s', 4],
      ['f', 2],
    ]);
  });

  it('asks for heartbeats only for a running step the board does not hold', () => {
    const progress = {
      state: 'executing',
      running: [
        { id: 'a', state: 'running' },
        { id: 'b', state: 'waiting' },
      ],
    } as unknown as TaskProgress;
    expect(needsHeartbeats(progress, [{ stepId: 'a', done: 1, total: 2 }])).toBe(false);
    expect(needsHeartbeats(progress, [{ stepId: 'b', done: 1, total: 2 }])).toBe(true);
    expect(needsHeartbeats({ ...progress, state: 'completed' }, [])).toBe(false);
  });
});

describe('retryWarning', () => {
  const retry = { stepId: 'fill', kind: 'resource' as const, attempt: 3, message: 'disk 96% full' };
  it('says which step, which attempt, when it starts and why', () => {
    expect(retryWarning({ ...retry, nextAttemptAt: 26_000 }, 1_000)).toBe(
      'step fill: attempt 3 in 25s after a resource failure: disk 96% full'
    );
    expect(retryWarning({ ...retry, nextAttemptAt: null }, 1_000)).toBe(
      'step fill: on attempt 3 after a resource failure: disk 96% full'
    );
  });
  it("names Temporal's own failures (a dead worker's heartbeat timeout) without a longrun kind", () => {
    const lost = {
      stepId: null,
      kind: null,
      attempt: 2,
      message: 'activity Heartbeat timeout',
      nextAttemptAt: null,
    };
    expect(retryWarning(lost, 0)).toBe('a step: on attempt 2 after activity Heartbeat timeout');
  });
});
