/**
 * Approvals on a real dev server: a `longrun.approval` step and a step calling `ctx.requestApproval`
 * wait for a person while the task holds no worker; the updates' validator refuses an answer that
 * names nothing pending; a warning comes before the deadline; the default outcome applies at it; an
 * approval answered while the task is paused is found when it resumes; one answered after its
 * deadline is refused, paused or not; a rejection fails the step.
 */
import { z } from 'zod';
import { defineAction } from '../../src/activities';
import type { TaskSpecInput } from '../../src/shared/spec';
import { recordHistory, useWorkerEnv } from '../support/temporal';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver';
import { waitFor } from '../support/worker-process';

const deployer = defineAction({
  name: 'test.deployer',
  description: 'asks before it deploys',
  input: z.object({ timeout: z.string() }),
  async run(ctx, input) {
    ctx.checkpoint({ prepared: true });
    const answer = await ctx.requestApproval({
      id: 'deploy',
      title: 'Deploy build 42?',
      timeout: input.timeout,
      warnBefore: '2s',
    });
    return { deployed: answer.decision === 'approved', by: answer.by, timedOut: answer.timedOut };
  },
});

const TASK_QUEUE = 'approvals-test';
const t = useWorkerEnv({ taskQueue: TASK_QUEUE, actions: [deployer] });
let hooks: WebhookReceiver;
beforeAll(async () => {
  hooks = await startWebhookReceiver();
});
afterAll(() => hooks?.close());

const spec = (
  taskId: string,
  steps: NonNullable<TaskSpecInput['phases'][number]['steps']>
): TaskSpecInput => ({
  v: 1,
  taskId,
  agent: 'approvals-test',
  webhooks: [{ url: hooks.url, events: ['task.approval'] }],
  phases: [{ id: 'p', steps }],
});

const pendingOf = async (taskId: string) => (await t.longrun.progress(taskId)).approvals ?? [];

describe('approvals', () => {
  it('waits for a person with no worker held, refuses a wrong answer, warns, and defaults at the deadline', async () => {
    const taskId = 'approve-then-timeout';
    await t.longrun.start(
      spec(taskId, [
        { id: 'ask', action: 'longrun.approval', input: { title: 'Ship the release?', timeout: '1h' } },
        { id: 'deploy', action: 'test.deployer', input: { timeout: '4s' }, needs: ['ask'] },
      ])
    );
    const [pending] = await waitFor('the approval pending', async () => {
      const list = await pendingOf(taskId);
      return list.length ? list : undefined;
    });
    expect(pending).toMatchObject({
      id: 'approval',
      stepId: 'ask',
      title: 'Ship the release?',
      onTimeout: 'reject',
    });
    const progress = await t.longrun.progress(taskId);
    expect(progress.running?.[0]).toMatchObject({ id: 'ask', state: 'waiting', waitingFor: 'approval' });
    const described = await t.env.client.workflow.getHandle(taskId).describe();
    expect(described.raw.pendingActivities ?? []).toHaveLength(0); // no worker held

    await expect(t.longrun.reject(taskId, { id: 'nope' })).rejects.toThrow(
      'id: no pending approval "nope"; pending: approval (step ask)'
    );
    await expect(t.longrun.approve(taskId, { by: 'x'.repeat(201) })).rejects.toThrow(/by/);
    const decision = await t.longrun.approve(taskId, { by: 'alice', note: 'lgtm' });
    expect(decision).toMatchObject({
      id: 'approval',
      decision: 'approved',
      by: 'alice',
      note: 'lgtm',
      timedOut: false,
    });
    await expect(t.longrun.approve(taskId)).rejects.toThrow(/no pending approval/);

    // The deploy step asks in its own code; nobody answers; it is rejected by default after 4 s.
    const result = await t.longrun.result(taskId);
    recordHistory(t.env, taskId, 'long-task-approvals-v4.json');
    expect(result.state).toBe('completed');
    expect(result.outputs.deploy).toEqual({ deployed: false, by: 'timeout', timedOut: true });
    const logs = (await t.longrun.logs(taskId)).map((e) => e.message).join('\n');
    expect(logs).toContain('approval approval (step ask) approved by alice: lgtm');
    expect(logs).toMatch(/approval deploy \(step deploy\) expires in \ds: reject by default/);
    expect(logs).toContain('approval deploy (step deploy) rejected by default: nobody answered in time');
    const events = hooks.requests
      .map((r) => JSON.parse(r.body) as { taskId: string; data: { level: string; id: string } })
      .filter((e) => e.taskId === taskId)
      .map((e) => `${e.data.id}:${e.data.level}`);
    expect(events).toEqual(
      expect.arrayContaining([
        'approval:requested',
        'approval:answered',
        'deploy:requested',
        'deploy:warning',
        'deploy:answered',
      ])
    );
  });

  it('keeps a pending approval across a pause, takes the answer meanwhile, and fails the step on rejection', async () => {
    const taskId = 'approve-while-paused';
    await t.longrun.start(
      spec(taskId, [
        { id: 'ask', action: 'longrun.approval', input: { title: 'Go on?' } },
        { id: 'second', action: 'longrun.approval', input: { title: 'Really?' }, needs: ['ask'] },
      ])
    );
    await waitFor('the approval pending', async () => ((await pendingOf(taskId)).length ? true : undefined));
    await t.longrun.pause(taskId);
    expect((await t.longrun.progress(taskId)).state).toBe('paused');
    expect(await pendingOf(taskId)).toHaveLength(1);
    await t.longrun.approve(taskId, { by: 'bob' });
    await t.longrun.resume(taskId);
    await waitFor('the second approval', async () => {
      const [p] = await pendingOf(taskId);
      return p?.stepId === 'second' ? p : undefined;
    });
    await t.longrun.reject(taskId, { by: 'carol', note: 'not today' });
    await expect(t.longrun.result(taskId)).rejects.toThrow();
    const failures = await t.longrun.failures(taskId);
    expect(failures.map((f) => f.message)).toEqual([
      expect.stringContaining('step second: approval approval rejected by carol: not today'),
    ]);
  });

  it('refuses an answer after the deadline, though the task was paused, and applies the default', async () => {
    const taskId = 'approve-after-deadline';
    await t.longrun.start(
      spec(taskId, [
        {
          id: 'ask',
          action: 'longrun.approval',
          input: { title: 'Late?', timeout: '5s', onReject: 'continue' },
        },
      ])
    );
    const [pending] = await waitFor('the approval pending', async () => {
      const list = await pendingOf(taskId);
      return list.length ? list : undefined;
    });
    await t.longrun.pause(taskId);
    expect(await pendingOf(taskId)).toHaveLength(1);
    await new Promise((r) => setTimeout(r, Math.max(0, (pending?.expiresAt ?? 0) - Date.now()) + 500));
    await expect(t.longrun.approve(taskId, { by: 'dave' })).rejects.toThrow(
      /approval approval \(step ask\) expired at \d{4}-\d\d-\d\dT[\d:.]+Z: too late to answer; reject by default/
    );
    await t.longrun.resume(taskId);
    const result = await t.longrun.result(taskId);
    expect(result.outputs.ask).toMatchObject({ approved: false, by: 'timeout', timedOut: true });
  });
});
