import { newLifecycle } from '../../src/shared/lifecycle';
import { taskLimitsOf } from '../../src/shared/limits';
import {
  mergeHeartbeats,
  progressAt,
  recomputeProgress,
  type RunningStepView,
  type TaskProgress,
} from '../../src/shared/progress';
import { taskSpecSchema } from '../../src/shared/spec';
import { buildPlan, donePercent, firstNotDone } from '../../src/shared/task-plan';
import { newCarriedState, upgradeCarried, type CarriedStateV1 } from '../../src/shared/task-state';

const spec = taskSpecSchema().parse({
  v: 1,
  taskId: 't',
  agent: 'a',
  phases: [
    {
      id: 'p1',
      steps: [
        { id: 'a', action: 'x' },
        { id: 'b', action: 'x', weight: 2 },
      ],
    },
    {
      id: 'p2',
      steps: [
        { id: 'c', action: 'x' },
        { id: 'wait', action: 'longrun.wait', input: { minutes: 5 } },
      ],
    },
  ],
});
const limits = taskLimitsOf(spec);

describe('carried state', () => {
  it('starts every field of a first run, with the deadline of its category', () => {
    const state = newCarriedState(spec, limits, 1_000);
    expect(state).toMatchObject({ v: 2, run: 1, done: [], fans: {}, stopped: {}, pause: null });
    expect(state.deadlineAt).toBe(1_000 + 4 * 3_600_000);
  });

  it('upgrades a v1 state once: its position as ranges, cursors (and waits) kept, one phase clock', () => {
    const v1: CarriedStateV1 = {
      v: 1,
      nextStep: 3,
      outputs: { b: { n: 1 } },
      cursors: { c: { next: 7 }, wait: { remainingMs: 120_000 } },
      lifecycle: { ...newLifecycle(0), state: 'executing' },
      checkpoints: [
        {
          id: 'phase-1',
          type: 'phase',
          label: 'end of phase p1',
          stepIndex: 2,
          stepId: 'c',
          cursor: null,
          runId: 'r1',
          resetEventId: 40,
          at: 5,
        },
        {
          id: 'manual-2',
          type: 'manual',
          label: 'mid c',
          stepIndex: 2,
          stepId: 'c',
          cursor: { next: 3 },
          runId: 'r1',
          resetEventId: 60,
          at: 9,
        },
      ],
      checkpointSeq: 2,
      lastAutomaticAt: 0,
      progressHistory: [],
      hardware: 'small',
      run: 4,
      stepsCompleted: 3,
      deadlineAt: 99_000,
      phaseClock: { index: 1, usedMs: 500, runningSince: null, extraMs: 0 },
      limitWarned: { task: 99_000, phase: '1:600000' },
      skipped: ['a'],
    };
    const v2 = upgradeCarried(v1, spec, limits);
    expect(v2).toMatchObject({
      v: 2,
      run: 4,
      hardware: 'small',
      done: [[0, 2]],
      skipped: ['a'],
      outputs: { b: { n: 1 } },
      stopped: {
        c: { cursor: { next: 7 }, items: null, waitMs: null, round: 0 },
        wait: { cursor: null, waitMs: 120_000 },
      },
      deadlineAt: 99_000,
      clocks: { 1: { index: 1, usedMs: 500 } },
      warned: { task: 99_000, phases: {} },
      failures: [],
      activity: [],
      notifySeq: 0,
    });
    expect(v2.checkpoints.map((c) => c.position)).toEqual([
      { done: [[0, 1]], stopped: {}, fans: {} },
      {
        done: [[0, 1]],
        stopped: { c: { cursor: { next: 3 }, items: null, waitMs: null, round: 0 } },
        fans: {},
      },
    ]);
    // Upgrading is done once: a v2 state comes back as it is.
    expect(upgradeCarried(v2, spec, limits)).toBe(v2);
  });

  it('refuses a version it does not know', () => {
    expect(() => upgradeCarried({ v: 9 } as never, spec, limits)).toThrow(
      'carried state version 9 is not supported'
    );
  });
});

describe('the plan', () => {
  it('weighs done steps wherever they are and finds the first step not done', () => {
    const plan = buildPlan(spec);
    expect(donePercent(plan, [[1, 1]])).toBeCloseTo(40);
    expect(donePercent(plan, [[0, 3]])).toBe(100);
    expect(
      firstNotDone(plan, [
        [0, 0],
        [2, 2],
      ])?.step.id
    ).toBe('b');
    expect([...plan.keepOutputs].sort()).toEqual(['c', 'wait']);
  });
});

const running = (over: Partial<RunningStepView>): RunningStepView => ({
  id: 'b',
  title: 'b',
  action: 'x',
  phaseId: 'p1',
  state: 'running',
  share: 40,
  fraction: 0,
  items: null,
  fanOut: null,
  rounds: null,
  ...over,
});
const progress = (over: Partial<TaskProgress>): TaskProgress =>
  ({
    state: 'executing',
    percent: 20,
    stepsPercent: 20,
    stepShare: 40,
    items: null,
    history: [],
    elapsedMs: 10_000,
    activeMs: 8_000,
    updatedAt: 1_000_000,
    running: [],
    ...over,
  }) as TaskProgress;

describe('progress of several running steps', () => {
  it("adds each running step's share times its fraction to the done steps", () => {
    const p = recomputeProgress(
      progress({ running: [running({ fraction: 0.5 }), running({ id: 'c', share: 20, fraction: 0.25 })] }),
      1_000_000
    );
    expect(p.percent).toBeCloseTo(20 + 20 + 5);
  });

  it("merges fresher heartbeats: a step's items, and a fan-out's items in flight", () => {
    const p = mergeHeartbeats(
      progress({
        running: [
          running({ items: { done: 1, total: 10, at: 5 } }),
          running({
            id: 'f',
            share: 20,
            fanOut: { total: 4, done: 1, failed: 0, running: 2 },
            fraction: 0.25,
          }),
        ],
      }),
      [
        { stepId: 'b', done: 5, total: 10, at: 9 },
        { stepId: 'f', item: 1, done: 1, total: 2 },
        { stepId: 'f', item: 2, done: 1, total: 2 },
      ],
      1_000_000
    );
    expect(p.running?.[0]?.items).toMatchObject({ done: 5, total: 10 });
    expect(p.running?.[1]?.fraction).toBeCloseTo((1 + 0.5 + 0.5) / 4);
    expect(p.percent).toBeCloseTo(20 + 40 * 0.5 + 20 * 0.5);
  });

  it("keeps a step's own report when it is newer than the heartbeat", () => {
    const p = mergeHeartbeats(
      progress({ running: [running({ items: { done: 7, total: 10, at: 50 }, fraction: 0.7 })] }),
      [{ stepId: 'b', done: 5, total: 10, at: 9 }],
      0
    );
    expect(p.running?.[0]?.items?.done).toBe(7);
  });

  it('moves elapsed and active time to the moment of reading; a paused task gains no active time', () => {
    const later = progressAt(progress({}), 1_003_000);
    expect(later).toMatchObject({ elapsedMs: 13_000, activeMs: 11_000, updatedAt: 1_003_000 });
    const paused = progressAt(progress({ state: 'paused' }), 1_003_000);
    expect(paused).toMatchObject({ elapsedMs: 13_000, activeMs: 8_000 });
    const ended = progress({ state: 'completed' });
    expect(progressAt(ended, 2_000_000)).toBe(ended);
  });
});
