/**
 * Time limits, idle detection, tool-call limits and webhooks end to end on the dev server: a task
 * that reaches its deadline or a phase limit completes with partial results after a final checkpoint
 * (a warning first at 75%); `extend` avoids it; a step that heartbeats without progress is warned
 * about and then paused; a hung tool call fails the attempt; every event reaches a real local HTTP
 * receiver, signed.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { verifyWebhook } from '../../src/runtime/webhook-signing';
import { CATEGORY_DEFAULTS } from '../../src/shared/limits';
import type { TaskSpecInput } from '../../src/shared/spec';
import type { WebhookEvent } from '../../src/shared/webhooks';
import { recordHistory, useWorkerEnv } from '../support/temporal';
import { testActions } from '../support/test-actions';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver';
import { waitFor } from '../support/worker-process';

const SECRET = 'limits-test-secret';
const t = useWorkerEnv({ taskQueue: 'limits-test', actions: testActions, webhookSecret: SECRET });
let receiver: WebhookReceiver;
beforeAll(async () => {
  receiver = await startWebhookReceiver();
});
afterAll(async () => {
  await receiver?.close();
});

const lines = (path: string) =>
  existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : [];
const ledger = (taskId: string) => join(t.dir, `${taskId}.ledger`);
const slow = (taskId: string, id: string, items: number, itemMs: number) => ({
  id,
  action: 'test.slow',
  input: { ledger: ledger(taskId), label: id, items, itemMs },
});
const tally = (taskId: string, id: string) => ({
  id,
  action: 'test.tally',
  input: { ledger: ledger(taskId), label: id },
});

/** The events the receiver got for a task, each checked against its signature. */
function eventsOf(taskId: string): WebhookEvent[] {
  return receiver.requests
    .map((r) => {
      const check = verifyWebhook(SECRET, r.headers, r.body);
      if (!check.ok) throw new Error(`bad signature: ${check.reason}`);
      return JSON.parse(r.body) as WebhookEvent;
    })
    .filter((e) => e.taskId === taskId);
}
const eventually = <T>(what: string, probe: () => T | undefined | Promise<T | undefined>) =>
  waitFor(what, probe, 30_000, 100);

describe('time limits', () => {
  it('warns at 75% of the deadline, then stops with a final checkpoint and partial results', async () => {
    const taskId = 'deadline';
    const spec: TaskSpecInput = {
      v: 1,
      taskId,
      agent: 'limits-test',
      timeouts: { task: 4_000 },
      webhooks: [{ url: receiver.url }],
      phases: [
        { id: 'work', steps: [slow(taskId, 'items', 400, 25)] },
        { id: 'report', steps: [tally(taskId, 'report')] },
      ],
    };
    const started = Date.now();
    await t.longrun.start(spec);
    const result = await t.longrun.result(taskId);
    const tookMs = Date.now() - started;
    expect(result).toMatchObject({ state: 'partial', stepsRemaining: 2, stepsCompleted: 0 });
    expect(result.reason).toMatch(/^deadline reached/);
    expect(tookMs).toBeGreaterThan(3_500);
    expect(tookMs).toBeLessThan(15_000);

    // The Temporal execution completed (not failed, not killed) and the final checkpoint holds the cursor.
    const description = await t.env.client.workflow.getHandle(taskId).describe();
    expect(description.status.name).toBe('COMPLETED');
    const checkpoints = await t.longrun.checkpoints(taskId);
    const final = checkpoints[checkpoints.length - 1];
    expect(final?.label).toMatch(/^final checkpoint: deadline reached .* during step items$/);
    const cursor = (final?.cursor as { next: number }).next;
    expect(cursor).toBeGreaterThan(10);
    expect(cursor).toBeLessThan(400);
    // Every item before the cursor was processed once; none after it.
    expect(lines(ledger(taskId))).toEqual(Array.from({ length: cursor }, (_, i) => `items:${i}`));

    const logs = (await t.longrun.logs(taskId)).map((e) => `${e.kind}: ${e.message}`);
    expect(logs.some((l) => /^warning: 75% of the task's time used: deadline in/.test(l))).toBe(true);
    expect(logs.some((l) => /^warning: completed with partial results \(2 steps not run\)/.test(l))).toBe(
      true
    );

    const events = await eventually('deadline webhooks', () => {
      const e = eventsOf(taskId);
      return e.some((x) => x.type === 'task.completed') ? e : undefined;
    });
    expect(events.map((e) => e.type)).toEqual(['task.deadline', 'task.completed']);
    expect(events[1]?.data).toMatchObject({ state: 'partial', partial: true, stepsRemaining: 2 });
    recordHistory(t.env, taskId, 'long-task-deadline-partial-v4.json');
  });

  it('runs to the end when the deadline is extended in time', async () => {
    const taskId = 'extended';
    await t.longrun.start({
      v: 1,
      taskId,
      agent: 'limits-test',
      timeouts: { task: 3_000 },
      phases: [{ id: 'work', steps: [slow(taskId, 'items', 120, 40)] }],
    });
    const progress = await t.longrun.extend(taskId, { by: '1m', reason: 'needs longer' });
    // The phase limit of a `long` task (the default category) moves by the same minute.
    expect(progress.phaseTime?.limitMs).toBe((CATEGORY_DEFAULTS.long.phaseMs as number) + 60_000);
    const result = await t.longrun.result(taskId);
    expect(result.state).toBe('completed');
    expect(lines(ledger(taskId))).toHaveLength(120);
  });

  it('stops a phase at its limit of working time; a durable wait does not count', async () => {
    const taskId = 'phase-limit';
    await t.longrun.start({
      v: 1,
      taskId,
      agent: 'limits-test',
      timeouts: { phase: 3_000 },
      phases: [
        {
          id: 'rest',
          steps: [{ id: 'nap', action: 'longrun.wait', input: { seconds: 4 } }, tally(taskId, 'rested')],
        },
        { id: 'work', steps: [slow(taskId, 'items', 400, 25)] },
        { id: 'report', steps: [tally(taskId, 'report')] },
      ],
    });
    const result = await t.longrun.result(taskId);
    expect(result).toMatchObject({ state: 'partial', stepsCompleted: 2, stepsRemaining: 2 });
    expect(result.reason).toBe('phase 2 used its 3s limit');
    const done = lines(ledger(taskId));
    expect(done[0]).toBe('rested');
    // Phase 2 ran about 3 s of 25-ms items (~120), plus the ~1 s a stop takes to reach the step; the
    // 4-s wait before it did not count (with it, phase 2 would have stopped at once).
    expect(done.length - 1).toBeGreaterThan(60);
    expect(done.length - 1).toBeLessThan(220);
    expect(done).not.toContain('report');
  });
});

describe('limit policies', () => {
  it('pauses at the deadline with onLimit "pause": resume waits for an extension, then it goes on', async () => {
    const taskId = 'limit-pause';
    await t.longrun.start({
      v: 1,
      taskId,
      agent: 'limits-test',
      timeouts: { task: '3s' },
      onLimit: 'pause',
      phases: [{ id: 'work', steps: [slow(taskId, 'items', 300, 25)] }],
    });
    const paused = await eventually('paused at the deadline', async () => {
      const p = await t.longrun.progress(taskId);
      return p.state === 'paused' ? p : undefined;
    });
    expect(paused.running?.[0]).toMatchObject({ id: 'items', state: 'stopped' });
    const atPause = lines(ledger(taskId)).length;
    await expect(t.longrun.resume(taskId)).rejects.toThrow(
      /the task is paused at its limit \(the deadline has passed\); extend it first/
    );
    await t.longrun.extend(taskId, { by: '1m' });
    await t.longrun.resume(taskId, { reason: 'more time' });
    const result = await t.longrun.result(taskId);
    expect(result.state).toBe('completed');
    // Nothing was redone: the step resumed where the limit stopped it.
    expect(lines(ledger(taskId))).toEqual(Array.from({ length: 300 }, (_, i) => `items:${i}`));
    expect(atPause).toBeGreaterThan(10);
    recordHistory(t.env, taskId, 'long-task-limit-pause-v4.json');
  });

  it('stops at the deadline with partial results, and continueTask picks it up where it stopped', async () => {
    const taskId = 'limit-continue';
    await t.longrun.start({
      v: 1,
      taskId,
      agent: 'limits-test',
      timeouts: { task: 3_000 },
      phases: [
        { id: 'work', steps: [slow(taskId, 'items', 300, 25)] },
        { id: 'report', steps: [tally(taskId, 'report')] },
      ],
    });
    const partial = await t.longrun.result(taskId);
    expect(partial).toMatchObject({ state: 'partial', stepsCompleted: 0, stepsRemaining: 2 });
    await expect(t.longrun.continueTask(taskId, { by: 'soon' })).rejects.toThrow(/by: must be a duration/);
    const continued = await t.longrun.continueTask(taskId, { by: '10m', reason: 'one more go' });
    expect(continued.started).toBe(true);
    const result = await t.longrun.result(taskId);
    expect(result).toMatchObject({ state: 'completed', stepsCompleted: 2 });
    expect(lines(ledger(taskId))).toEqual([...Array.from({ length: 300 }, (_, i) => `items:${i}`), 'report']);
    const logs = (await t.longrun.logs(taskId)).map((e) => e.message);
    expect(logs).toContain('continued after its limit, extended by 10m 00s: one more go');
    // A task that ended normally cannot be continued.
    await expect(t.longrun.continueTask(taskId, { by: '1h' })).rejects.toThrow(
      /only a task stopped at a limit/
    );
  });

  it('only warns with onLimit "warn", and an extended task has no deadline at all', async () => {
    const taskId = 'limit-warn';
    await t.longrun.start({
      v: 1,
      taskId,
      agent: 'limits-test',
      timeouts: { task: '2s' },
      onLimit: 'warn',
      phases: [{ id: 'work', steps: [slow(taskId, 'items', 120, 25)] }],
    });
    expect((await t.longrun.result(taskId)).state).toBe('completed');
    const logs = (await t.longrun.logs(taskId)).map((e) => e.message);
    expect(logs.some((m) => /^deadline reached .*: the task runs on \(onLimit "warn"\)$/.test(m))).toBe(true);

    const gate = join(t.dir, 'no-limits.gate');
    await t.longrun.start({
      v: 1,
      taskId: 'no-limits',
      agent: 'limits-test',
      category: 'extended',
      phases: [
        {
          id: 'work',
          steps: [
            {
              id: 'hold',
              action: 'test.gate',
              input: { file: gate, ledger: ledger('no-limits'), label: 'hold' },
            },
          ],
        },
      ],
    });
    const progress = await eventually('running', async () => {
      const p = await t.longrun.progress('no-limits');
      return p.state === 'executing' ? p : undefined;
    });
    expect(progress).toMatchObject({ category: 'extended', deadline: null, phaseTime: null });
    await expect(t.longrun.extend('no-limits', { by: '1h' })).rejects.toThrow(
      /the task has no time limit to extend/
    );
    writeFileSync(gate, 'open');
    await t.longrun.result('no-limits');
  });
});

describe('idle detection', () => {
  it('warns about a step that heartbeats without progress, then checkpoints and pauses it', async () => {
    const taskId = 'idle';
    const gate = join(t.dir, 'idle.gate');
    await t.longrun.start({
      v: 1,
      taskId,
      agent: 'limits-test',
      timeouts: { idleWarning: 2_000, idlePause: 4_000 },
      webhooks: [{ url: receiver.url, events: ['task.idle', 'task.paused', 'task.completed'] }],
      phases: [
        {
          id: 'p',
          steps: [
            {
              id: 'wait-for-gate',
              action: 'test.gate',
              input: { file: gate, ledger: ledger(taskId), label: 'g' },
            },
          ],
        },
      ],
    });
    const warned = await eventually('idle warning', async () => {
      const p = await t.longrun.progress(taskId);
      return p.warnings?.some((w) => w.startsWith('no item progress in step wait-for-gate')) ? p : undefined;
    });
    expect(warned.state).toBe('executing');
    const paused = await eventually('idle pause', async () => {
      const p = await t.longrun.progress(taskId);
      return p.state === 'paused' ? p : undefined;
    });
    expect(paused.warnings).toEqual([]);
    const checkpoints = await t.longrun.checkpoints(taskId);
    expect(checkpoints[checkpoints.length - 1]?.label).toMatch(
      /^idle: paused after \d+m?s without progress in step wait-for-gate$/
    );
    const logs = (await t.longrun.logs(taskId)).map((e) => `${e.kind}: ${e.message}`);
    expect(logs).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^warning: no item progress in step wait-for-gate for \ds \(heartbeats only\)$/
        ),
        expect.stringMatching(
          /^warning: no item progress in step wait-for-gate for \ds: checkpoint and pause$/
        ),
      ])
    );

    writeFileSync(gate, 'open');
    await t.longrun.resume(taskId, { reason: 'gate opened' });
    expect((await t.longrun.result(taskId)).state).toBe('completed');
    expect(lines(ledger(taskId))).toEqual(['g']);
    const events = await eventually('idle webhooks', () => {
      const e = eventsOf(taskId);
      return e.some((x) => x.type === 'task.completed') ? e : undefined;
    });
    expect(
      events.map((e) => `${e.type}${typeof e.data.level === 'string' ? `:${e.data.level}` : ''}`)
    ).toEqual(['task.idle:warning', 'task.idle:pause', 'task.paused', 'task.completed']);
    expect(events[2]?.data.reason).toMatch(/^idle: no item progress/);
    recordHistory(t.env, taskId, 'long-task-idle-pause-v4.json');
    // Deliveries carry their event id for de-duplication, the same as the body's.
    for (const r of receiver.requests.filter((x) => x.body.includes(`"taskId":"${taskId}"`))) {
      expect(r.headers['x-longrun-delivery']).toBe((JSON.parse(r.body) as WebhookEvent).id);
    }
  });
});

describe('tool-call limits', () => {
  it('ends a hung shell call at its limit and retries the step', async () => {
    const taskId = 'tool';
    await t.longrun.start({
      v: 1,
      taskId,
      agent: 'limits-test',
      timeouts: { tools: { shell: 500 } },
      phases: [
        {
          id: 'p',
          steps: [
            { id: 'call', action: 'test.tool', input: { ledger: ledger(taskId), label: 'call', hangs: 1 } },
          ],
        },
      ],
    });
    const result = await t.longrun.result(taskId);
    expect(result.outputs.call).toEqual({ label: 'call', attempt: 2, answer: 'ok' });
    expect(lines(ledger(taskId))).toEqual(['call@1', 'call@2']);
  });
});
