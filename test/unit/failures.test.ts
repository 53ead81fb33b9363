import {
  classifyFailure,
  CRASH_RESCHEDULES,
  FAILURE_KINDS,
  FAILURE_TYPE_OF_KIND,
  RECOVERY_DECISIONS,
  recoveryDecision,
  rescheduleAfterLostWorker,
  retryAfterMs,
} from '../../src/shared/failures';

describe('classifyFailure', () => {
  it.each([
    [{ code: 'ECONNRESET' }, 'transient'],
    [{ code: 'ETIMEDOUT' }, 'transient'],
    [{ status: 429 }, 'transient'],
    [{ status: 503 }, 'transient'],
    [{ message: 'Request timed out after 30s' }, 'transient'],
    [{ message: 'rate limit exceeded' }, 'transient'],
    [{ code: 'ENOSPC', message: 'write failed' }, 'resource'],
    [{ code: 'ENOMEM' }, 'resource'],
    [{ message: 'JavaScript heap out of memory' }, 'resource'],
    [{ type: 'ArtifactCorruptError' }, 'critical'],
    [{ message: 'checksum mismatch in chunk 7' }, 'critical'],
    [{ status: 400, message: 'bad request' }, 'permanent'],
    [{ type: 'TypeError', message: "cannot read properties of undefined (reading 'x')" }, 'permanent'],
    [{}, 'permanent'],
  ] as const)('%j is %s', (facts, kind) => {
    expect(classifyFailure(facts)).toBe(kind);
  });

  it('lets an explicit longrun type win over everything else', () => {
    for (const kind of FAILURE_KINDS) {
      expect(classifyFailure({ type: FAILURE_TYPE_OF_KIND[kind], code: 'ECONNRESET', status: 503 })).toBe(
        kind
      );
    }
  });

  it('prefers codes over status and status over message text', () => {
    expect(classifyFailure({ code: 'ENOSPC', status: 503 })).toBe('resource');
    expect(classifyFailure({ status: 503, message: 'corrupt' })).toBe('transient');
  });
});

describe('retryAfterMs', () => {
  const now = Date.parse('2026-11-22T12:00:00Z');
  it('reads seconds and HTTP dates, capped and never negative', () => {
    expect(retryAfterMs('120', now)).toBe(120_000);
    expect(retryAfterMs('1.5', now)).toBe(1_500);
    expect(retryAfterMs('Sun, 22 Nov 2026 12:00:30 GMT', now)).toBe(30_000);
    expect(retryAfterMs('Sun, 22 Nov 2026 11:00:00 GMT', now)).toBe(0);
    expect(retryAfterMs('99999', now)).toBe(3_600_000);
  });
  it('is null when absent or unreadable', () => {
    expect(retryAfterMs(undefined, now)).toBeNull();
    expect(retryAfterMs('', now)).toBeNull();
    expect(retryAfterMs('soon', now)).toBeNull();
  });
});

describe('recoveryDecision', () => {
  it('decides for every combination', () => {
    const seen = new Set<string>();
    for (const kind of FAILURE_KINDS)
      for (const critical of [true, false])
        for (const hasCheckpoint of [true, false])
          for (const rollbacks of [0, 1]) {
            const decision = recoveryDecision({ kind, critical, hasCheckpoint, rollbacks });
            seen.add(decision);
            if (!critical) expect(decision).toBe('skip');
            else if (kind === 'critical' && hasCheckpoint && rollbacks === 0)
              expect(decision).toBe('rollback');
            else expect(decision).toBe('fail');
          }
    expect([...seen].sort()).toEqual([...RECOVERY_DECISIONS].sort());
  });
});

describe('lost workers', () => {
  it('schedules a step again after its attempts ended with a lost worker, at most CRASH_RESCHEDULES times', () => {
    expect(rescheduleAfterLostWorker(true, 0)).toBe(true);
    expect(rescheduleAfterLostWorker(true, CRASH_RESCHEDULES - 1)).toBe(true);
    expect(rescheduleAfterLostWorker(true, CRASH_RESCHEDULES)).toBe(false);
    expect(rescheduleAfterLostWorker(false, 0)).toBe(false);
  });
});
