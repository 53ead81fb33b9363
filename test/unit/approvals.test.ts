import { approvalRequestSchema, lateAnswer, pendingApproval, pendingFor } from '../../src/shared/approvals';
import { taskSpecSchema } from '../../src/shared/spec';
import { issuesOf } from '../../src/shared/validation';

const request = (input: Record<string, unknown>) =>
  approvalRequestSchema().parse({ title: 'Ship?', ...input });

describe('approval requests and answers', () => {
  it('defaults to a day, a rejection at the deadline and a warning a quarter before it (at most 1 h)', () => {
    expect(pendingApproval(request({}), 'ship', 'ship', 0)).toMatchObject({
      id: 'approval',
      expiresAt: 86_400_000,
      warnAt: 86_400_000 - 3_600_000,
      onTimeout: 'reject',
      warned: false,
    });
    expect(pendingApproval(request({ timeout: '1h', onTimeout: 'approve' }), 'u', 's', 10)).toMatchObject({
      expiresAt: 3_600_010,
      warnAt: 3_600_010 - 900_000,
      onTimeout: 'approve',
    });
  });

  it('refuses a bad request naming the field', () => {
    const parsed = approvalRequestSchema().safeParse({ id: 'no spaces', title: ' ', timeout: '1s' });
    if (parsed.success) throw new Error('expected a refusal');
    const paths = issuesOf(parsed.error, 'approval').map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['approval.id', 'approval.title']));
  });

  it('finds the pending approval an answer names, or says which are pending', () => {
    const a = pendingApproval(request({ id: 'a' }), 'one', 'one', 0);
    const b = pendingApproval(request({ id: 'b' }), 'two', 'two', 0);
    expect(pendingFor([], {})).toEqual({ ok: false, why: 'the task has no pending approval' });
    expect(pendingFor([a], {})).toEqual({ ok: true, approval: a });
    expect(pendingFor([a, b], { id: 'b' })).toEqual({ ok: true, approval: b });
    expect(pendingFor([a, b], {})).toEqual({
      ok: false,
      why: 'id: 2 approvals are pending, name one: a (step one), b (step two)',
    });
    expect(pendingFor([a, b], { id: 'c' })).toEqual({
      ok: false,
      why: 'id: no pending approval "c"; pending: a (step one), b (step two)',
    });
  });

  it('refuses an answer at or after the deadline, naming the request and its deadline', () => {
    const pending = pendingApproval(request({ id: 'deploy', timeout: '1h' }), 'ship', 'ship', 0);
    expect(lateAnswer(pending, 3_599_999)).toBeNull();
    const why =
      'approval deploy (step ship) expired at 1970-01-01T01:00:00.000Z: too late to answer; reject by default';
    expect(lateAnswer(pending, 3_600_000)).toBe(why);
    expect(lateAnswer(pending, 5 * 86_400_000)).toBe(why);
  });

  it('checks a longrun.approval step before the task starts', () => {
    const spec = (input: unknown) => ({
      v: 1,
      taskId: 't',
      agent: 'a',
      phases: [{ id: 'p', steps: [{ id: 'ask', action: 'longrun.approval', input }] }],
    });
    expect(taskSpecSchema().safeParse(spec({ title: 'Go?' })).success).toBe(true);
    const bad = taskSpecSchema().safeParse(spec({ title: 'Go?', onReject: 'shrug' }));
    if (bad.success) throw new Error('expected a refusal');
    expect(issuesOf(bad.error, 'spec').map((i) => i.path)).toEqual([
      'spec.phases[0].steps[0].input.onReject',
    ]);
  });
});
