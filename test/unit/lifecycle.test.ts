import {
  canTransition,
  durations,
  hasEnded,
  LifecycleTransitionError,
  isFinal,
  LIFECYCLE_STATES,
  newLifecycle,
  transition,
  TRANSITION_LOG_LIMIT,
  VALID_TRANSITIONS,
  type LifecycleState,
} from '../../src/shared/lifecycle';

// Seed 001's table, written out independently: every pair not listed here must be rejected. Engine v2
// adds moves from resuming (a pause, a cancel or the last step ending while stopped steps restart).
const ALLOWED: Record<LifecycleState, LifecycleState[]> = {
  created: ['planning', 'cancelled'],
  planning: ['executing', 'failed', 'cancelled'],
  executing: ['paused', 'checkpointing', 'completing', 'failed', 'cancelled'],
  paused: ['resuming', 'cancelled'],
  checkpointing: ['executing', 'paused', 'failed'],
  resuming: ['executing', 'paused', 'completing', 'failed', 'cancelled'],
  completing: ['completed', 'failed'],
  completed: [],
  failed: ['resuming'],
  cancelled: [],
};

describe('lifecycle transitions', () => {
  const pairs = LIFECYCLE_STATES.flatMap((from) => LIFECYCLE_STATES.map((to) => [from, to] as const));

  it.each(pairs)('%s -> %s follows seed 001', (from, to) => {
    const allowed = ALLOWED[from].includes(to);
    expect(canTransition(from, to)).toBe(allowed);
    const record = { ...newLifecycle(0), state: from };
    if (allowed) expect(transition(record, to, 'test', 10).state).toBe(to);
    else expect(() => transition(record, to, 'test', 10)).toThrow(LifecycleTransitionError);
  });

  it('has a table entry for every state', () => {
    expect(Object.keys(VALID_TRANSITIONS).sort()).toEqual([...LIFECYCLE_STATES].sort());
  });

  it('names both states, the trigger and the allowed moves in the error', () => {
    expect(() => transition(newLifecycle(0), 'completed', 'finish early', 1)).toThrow(
      'invalid transition from created to completed (finish early); allowed from created: planning, cancelled'
    );
  });

  it('treats completed and cancelled as final, failed as resumable', () => {
    expect(LIFECYCLE_STATES.filter(isFinal)).toEqual(['completed', 'cancelled']);
  });
});

describe('lifecycle record', () => {
  it('logs transitions with trigger and time, and counts paused time apart from active time', () => {
    let r = newLifecycle(1_000);
    r = transition(r, 'planning', 'start', 1_000);
    r = transition(r, 'executing', 'plan ready', 2_000);
    r = transition(r, 'paused', 'pause requested', 5_000);
    expect(durations(r, 8_000)).toEqual({ totalMs: 7_000, pausedMs: 3_000, activeMs: 4_000 });
    r = transition(r, 'resuming', 'resume requested', 9_000);
    r = transition(r, 'executing', 'resumed', 9_500);
    r = transition(r, 'completing', 'done', 12_000);
    r = transition(r, 'completed', 'result', 12_000);
    expect(r.transitions.map((t) => `${t.from}>${t.to}:${t.trigger}@${t.at}`)).toEqual([
      'created>planning:start@1000',
      'planning>executing:plan ready@2000',
      'executing>paused:pause requested@5000',
      'paused>resuming:resume requested@9000',
      'resuming>executing:resumed@9500',
      'executing>completing:done@12000',
      'completing>completed:result@12000',
    ]);
    expect(r.endedAt).toBe(12_000);
    // The end is fixed: later "now"s do not add time.
    expect(durations(r, 99_000)).toEqual({ totalMs: 11_000, pausedMs: 4_000, activeMs: 7_000 });
  });

  it('keeps only the latest transitions but counts them all', () => {
    let r = transition(newLifecycle(0), 'planning', 'start', 0);
    r = transition(r, 'executing', 'ready', 0);
    for (let i = 0; i < 40; i++) {
      r = transition(r, 'checkpointing', 'cp', i);
      r = transition(r, 'executing', 'cp done', i);
    }
    expect(r.transitions).toHaveLength(TRANSITION_LOG_LIMIT);
    expect(r.transitionCount).toBe(82);
    expect(r.transitions.at(-1)?.trigger).toBe('cp done');
  });

  it('clears the end time when a failed task resumes', () => {
    let r = transition(transition(newLifecycle(0), 'planning', 's', 0), 'failed', 'boom', 5);
    expect(r.endedAt).toBe(5);
    r = transition(r, 'resuming', 'retry', 7);
    expect(r.endedAt).toBeNull();
  });
});

describe('hasEnded', () => {
  it('is true for completed, failed and cancelled only', () => {
    expect(LIFECYCLE_STATES.filter(hasEnded)).toEqual(['completed', 'failed', 'cancelled']);
  });
});
