/**
 * Steering end to end on the dev server: pause mid-step and resume from the saved cursor, graceful
 * cancel with partial results, extend, signals, rejected requests, item progress with velocity and
 * ETA, list filters and watch.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { InvalidTransitionError, LongrunClient, UnknownTaskError } from '../../src/client';
import type { TaskSpecInput } from '../../src/shared/spec';
import { ValidationError } from '../../src/shared/validation';
import { extendUpdate, pauseSignal, progressQuery, resumeSignal } from '../../src/workflows/messages';
import { recordHistory, useWorkerEnv } from '../support/temporal';
import { testActions } from '../support/test-actions';
import { waitFor } from '../support/worker-process';

const TASK_QUEUE = 'steering-test';

const t = useWorkerEnv({ taskQueue: TASK_QUEUE, actions: testActions, progressSignalMs: 500 });

function ledgerLines(path: string): string[] {
  return existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : [];
}

/** A task of `tally` a, slow step b (`items` x `itemMs`), tally c. */
function slowSpec(
  taskId: string,
  ledger: string,
  items: number,
  itemMs: number,
  extra: Partial<TaskSpecInput> = {}
) {
  return {
    v: 1,
    taskId,
    agent: 'steer-test',
    phases: [
      {
        id: 'work',
        steps: [
          { id: 'a', action: 'test.tally', input: { ledger, label: 'a' }, milestone: true },
          { id: 'b', action: 'test.slow', input: { ledger, label: 'b', items, itemMs }, weight: 10 },
          { id: 'c', action: 'test.tally', input: { ledger, label: 'c' } },
        ],
      },
    ],
    ...extra,
  } satisfies TaskSpecInput;
}

const itemsDone = (lines: string[], label: string) => lines.filter((l) => l.startsWith(`${label}:`));

describe('pause and resume', () => {
  const ledger = () => join(t.dir, 'pause.ledger');

  it('pauses mid-step within seconds, keeps the cursor, and resumes from it without redoing items', async () => {
    await t.longrun.start(slowSpec('pause', ledger(), 300, 20));
    await waitFor(
      '30 items',
      async () => ((await t.longrun.progress('pause')).items?.done ?? 0) >= 30 || undefined
    );

    const asked = Date.now();
    const paused = await t.longrun.pause('pause', { reason: 'look at the results' });
    const pauseMs = Date.now() - asked;
    expect(paused.state).toBe('paused');
    expect(pauseMs).toBeLessThan(5_000);

    // Nothing runs while paused.
    const atPause = itemsDone(ledgerLines(ledger()), 'b').length;
    expect(atPause).toBeGreaterThanOrEqual(30);
    expect(atPause).toBeLessThan(300);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(itemsDone(ledgerLines(ledger()), 'b')).toHaveLength(atPause);

    const logs = await t.longrun.logs('pause');
    const pausedEntry = logs.find((e) => e.message.startsWith('paused at step b'));
    expect(pausedEntry?.message).toMatch(new RegExp(`cursor \\{"next":${atPause}\\}`));
    expect(logs.some((e) => e.message === 'pause requested: look at the results')).toBe(true);

    // The answer comes once the task is no longer paused; it is `resuming` until its step runs again.
    const resumed = await t.longrun.resume('pause');
    expect(['resuming', 'executing']).toContain(resumed.state);
    const result = await t.longrun.result('pause');
    expect(result.state).toBe('completed');

    // Every item exactly once, in order: the new schedule of step b started at the saved cursor.
    const b = itemsDone(ledgerLines(ledger()), 'b');
    expect(b).toEqual(Array.from({ length: 300 }, (_, i) => `b:${i}`));
    expect(ledgerLines(ledger()).filter((l) => l === 'c')).toHaveLength(1);
    const after = await t.longrun.logs('pause');
    expect(
      after.some((e) => e.message === `step 2/3 b (test.slow) resumed from cursor {"next":${atPause}}`)
    ).toBe(true);
    const lifecycle = await t.longrun.lifecycle('pause');
    const path = lifecycle.transitions.map((t) => t.to);
    expect(path).toEqual(expect.arrayContaining(['paused', 'resuming', 'executing', 'completed']));
    const resumedStep = lifecycle.transitions.find((t) => t.from === 'resuming');
    expect(resumedStep).toMatchObject({ to: 'executing', trigger: 'resumed steps are running again' });
    expect(lifecycle.pausedMs).toBeGreaterThanOrEqual(1_500);
    expect(lifecycle.activeMs).toBeLessThanOrEqual(lifecycle.totalMs - 1_500);
    console.log(`pause took effect in ${pauseMs} ms, at item ${atPause}`);
    recordHistory(t.env, 'pause', 'long-task-pause-resume-v4.json');
  });

  it('rejects invalid transitions and bad payloads, changing nothing', async () => {
    await expect(t.longrun.pause('pause')).rejects.toThrow(InvalidTransitionError);
    await expect(t.longrun.pause('pause')).rejects.toThrow(
      'task "pause" rejected pause: the task is completed'
    );
    await expect(t.longrun.resume('no-such-task')).rejects.toThrow(UnknownTaskError);

    const ledger2 = join(t.dir, 'reject.ledger');
    await t.longrun.start(slowSpec('reject', ledger2, 2_000, 20));
    await waitFor(
      'step b',
      async () => ((await t.longrun.progress('reject')).items?.done ?? 0) >= 5 || undefined
    );
    await expect(t.longrun.resume('reject')).rejects.toThrow(
      'task "reject" rejected resume: the task is executing, not paused; only a paused task can be resumed'
    );
    // Checked in the client first (field and rule), so nothing is sent.
    await expect(t.longrun.extend('reject', { by: '-5m' })).rejects.toThrow(ValidationError);
    await expect(t.longrun.extend('reject', { by: '-5m' })).rejects.toThrow(
      'invalid extend request: by: must be a positive duration (got "-5m")'
    );
    await expect(t.longrun.pause('reject', { reason: 'x'.repeat(600) })).rejects.toThrow(
      'reason: must be at most 500 characters'
    );

    await t.longrun.pause('reject');
    await expect(t.longrun.pause('reject')).rejects.toThrow('the task is already paused');
    // The workflow's own validators refuse what a raw Temporal client sends, and leave no trace in history.
    const handle = t.env.client.workflow.getHandle('reject');
    const before = (await handle.fetchHistory()).events?.length;
    const refusal = async (payload: unknown): Promise<string> => {
      const err: unknown = await handle
        .executeUpdate(extendUpdate, { args: [payload as never] })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
      // Refused for good, not "retryable": the same request meets the same rule.
      expect((err as WorkflowUpdateFailedError).cause).toMatchObject({ nonRetryable: true });
      return (err as WorkflowUpdateFailedError).cause?.message ?? '';
    };
    expect(await refusal({ by: -300_000 })).toBe('by: must be a positive duration (got -300000)');
    expect(await refusal({ until: '2001-01-01T00:00:00Z' })).toMatch(
      /^until: must be later than the current deadline /
    );
    expect(await refusal({ by: '2h', until: 'soon' })).toBe(
      'until: must be an ISO 8601 date-time with offset; extend: give exactly one of "by" (a duration) and "until" (a date-time), or a "budget" to raise'
    );
    expect((await handle.fetchHistory()).events?.length).toBe(before);
    expect((await t.longrun.progress('reject')).state).toBe('paused');

    // Cancel a paused task: it ends cancelled, with the step's cursor in the final checkpoint.
    const cancelled = await t.longrun.cancel('reject', { reason: 'not needed' });
    expect(cancelled.state).toBe('cancelled');
    const final = (await t.longrun.checkpoints('reject')).pop();
    expect(final?.label).toBe('final checkpoint: cancelled during step b');
    expect(final?.cursor).toEqual({ next: expect.any(Number) });
  });
});

describe('cancel', () => {
  it('cancels gracefully mid-step: final checkpoint, partial results, state cancelled, workflow completed with them', async () => {
    const ledger = join(t.dir, 'cancel.ledger');
    await t.longrun.start(slowSpec('cancel', ledger, 2_000, 10));
    await waitFor(
      '20 items',
      async () => ((await t.longrun.progress('cancel')).items?.done ?? 0) >= 20 || undefined
    );

    const progress = await t.longrun.cancel('cancel', { reason: 'budget exhausted' });
    expect(progress.state).toBe('cancelled');
    // One ending for every cancel path: the workflow completes and returns the partial results.
    await waitFor('closed', async () =>
      (await t.env.client.workflow.getHandle('cancel').describe()).status.name === 'COMPLETED'
        ? true
        : undefined
    );

    const result = await t.longrun.result('cancel');
    expect(result).toMatchObject({
      state: 'cancelled',
      reason: 'budget exhausted',
      stepsCompleted: 1,
      outputs: { a: { label: 'a', items: 0 } },
    });
    const final = (await t.longrun.checkpoints('cancel')).pop();
    const done = itemsDone(ledgerLines(ledger), 'b').length;
    expect(final).toMatchObject({ type: 'manual', stepId: 'b', cursor: { next: done } });
    expect(ledgerLines(ledger)).not.toContain('c');
    await expect(t.longrun.resume('cancel')).rejects.toThrow(/the task is cancelled/);
    recordHistory(t.env, 'cancel', 'long-task-cancelled-v4.json');
  });
});

describe('signals (fire and forget)', () => {
  it('applies valid signals and notes refused ones in the activity log', async () => {
    const ledger = join(t.dir, 'signals.ledger');
    await t.longrun.start(slowSpec('signals', ledger, 2_000, 10));
    await waitFor(
      'items',
      async () => ((await t.longrun.progress('signals')).items?.done ?? 0) >= 5 || undefined
    );
    const handle = t.env.client.workflow.getHandle('signals');
    await handle.signal(resumeSignal, {}); // refused: not paused
    await handle.signal(pauseSignal, { reason: 'from the Temporal CLI' });
    await waitFor('paused', async () =>
      (await t.longrun.progress('signals')).state === 'paused' ? true : undefined
    );
    const logs = await t.longrun.logs('signals');
    expect(logs.map((e) => e.message)).toEqual(
      expect.arrayContaining([
        'ignored resume signal: the task is executing, not paused; only a paused task can be resumed',
        'pause requested: from the Temporal CLI',
      ])
    );
    await handle.signal(resumeSignal, {});
    await waitFor('running', async () =>
      (await t.longrun.progress('signals')).state === 'executing' ? true : undefined
    );
    await t.env.client.workflow.getHandle('signals').cancel(); // a Temporal cancel takes the same graceful path
    const result = await t.longrun.result('signals');
    expect(result).toMatchObject({ state: 'cancelled', reason: 'cancel requested through Temporal' });
  });
});

describe('hostile payloads', () => {
  it('ignores malformed signals and refuses malformed updates of every message, and the task carries on', async () => {
    const ledger = join(t.dir, 'hostile.ledger');
    await t.longrun.start(slowSpec('hostile', ledger, 400, 10));
    await waitFor(
      'items',
      async () => ((await t.longrun.progress('hostile')).items?.done ?? 0) >= 5 || undefined
    );
    const handle = t.env.client.workflow.getHandle('hostile');
    const junk: unknown[] = [null, 42, 'x', [], [1, 2], { a: { b: { c: 1 } } }, true];
    const progressReports: unknown[] = [
      { stepId: 'b', done: 1, total: 2, rate: 'fast', at: 1 }, // the report that once wedged a task
      { stepId: 'b', done: -1, total: 2, rate: null, at: 1 },
      { stepId: 'b', done: 1, total: 2, rate: null, at: 1, idle: { level: 'asleep', idleMs: 1 } },
      { stepId: 'b', done: 1, total: 2, rate: null, at: 1, note: 'x'.repeat(100_000) },
      { stepId: 'b', item: 1.5, done: 1, total: 2, rate: null, at: 1 },
    ];
    for (const payload of [...junk, ...progressReports]) await handle.signal('stepProgress', payload);
    for (const name of [
      'requestPause',
      'requestResume',
      'requestCancel',
      'requestExtend',
      'requestCheckpoint',
    ]) {
      for (const payload of [
        42,
        'x',
        [1],
        { reason: 5 },
        { by: 'forever' },
        { label: {} },
        { until: 'soon' },
      ]) {
        await handle.signal(name, payload);
      }
    }
    for (const name of ['pause', 'resume', 'cancel', 'extend', 'checkpoint']) {
      for (const payload of [42, [1], { reason: 5 }, { by: -1 }]) {
        await expect(handle.executeUpdate(name, { args: [payload] })).rejects.toBeInstanceOf(
          WorkflowUpdateFailedError
        );
      }
    }
    await handle.signal('noSuchSignal', { x: 1 });
    expect((await handle.query(progressQuery)).state).toBe('executing');

    // Steering still works, and the task completes with every item once.
    await t.longrun.pause('hostile', { reason: 'after the junk' });
    await t.longrun.resume('hostile');
    const result = await t.longrun.result('hostile');
    expect(result.state).toBe('completed');
    expect(itemsDone(ledgerLines(ledger), 'b')).toHaveLength(400);
    const messages = (await t.longrun.logs('hostile')).map((e) => e.message);
    expect(messages).toEqual(
      expect.arrayContaining([
        'ignored a malformed stepProgress signal: rate: Invalid input: expected number, received string',
        expect.stringMatching(/^ignored pause signal: /),
      ])
    );
    const history = await handle.fetchHistory();
    const failedTasks = (history.events ?? []).filter((e) => e.workflowTaskFailedEventAttributes);
    expect(failedTasks).toHaveLength(0);
    recordHistory(t.env, 'hostile', 'long-task-hostile-signals-v4.json');
  });

  it('reports started: true to exactly one of five concurrent starts of one spec', async () => {
    const spec = slowSpec('five-starts', join(t.dir, 'five.ledger'), 3, 1);
    const starts = await Promise.all(Array.from({ length: 5 }, () => t.longrun.start(spec)));
    expect(starts.filter((s) => s.started)).toHaveLength(1);
    expect(new Set(starts.map((s) => s.runId)).size).toBe(1);
    expect((await t.longrun.result('five-starts')).state).toBe('completed');
  });
});

describe('extend', () => {
  it('moves the deadline by a duration or to a date-time, and refuses an earlier one', async () => {
    const gate = join(t.dir, 'extend.gate');
    const ledger = join(t.dir, 'extend.ledger');
    const deadline = new Date(Date.now() + 3_600_000).toISOString();
    await t.longrun.start({
      v: 1,
      taskId: 'extend',
      agent: 'steer-test',
      deadline,
      phases: [
        { id: 'p', steps: [{ id: 'g', action: 'test.gate', input: { file: gate, ledger, label: 'g' } }] },
      ],
    });
    const by = await t.longrun.extend('extend', { by: '2h', reason: 'more files than expected' });
    expect(Date.parse(by.deadline as string)).toBe(Date.parse(deadline) + 7_200_000);
    const until = new Date(Date.parse(deadline) + 86_400_000).toISOString();
    expect((await t.longrun.extend('extend', { until })).deadline).toBe(until);
    await expect(t.longrun.extend('extend', { until: deadline })).rejects.toThrow(
      /until: must be later than the current deadline/
    );
    const logs = await t.longrun.logs('extend');
    expect(logs.some((e) => e.message.startsWith('deadline extended by 2h 00m'))).toBe(true);
    writeFileSync(gate, 'open');
    expect((await t.longrun.result('extend')).state).toBe('completed');
  });
});

describe('progress', () => {
  it('reports items, velocity and ETA to the client and, every report interval, to the progress query', async () => {
    const ledger = join(t.dir, 'progress.ledger');
    await t.longrun.start(slowSpec('progress', ledger, 400, 20));
    const seen = await waitFor('velocity', async () => {
      const p = await t.longrun.progress('progress');
      return p.items && p.items.done >= 100 && p.velocity.etaMs !== null ? p : undefined;
    });
    expect(seen.items?.total).toBe(400);
    expect(seen.velocity.itemsPerSecond).toBeGreaterThan(10);
    expect(seen.velocity.itemsPerSecond).toBeLessThan(60);
    expect(seen.velocity.percentPerHour).toBeGreaterThan(0);
    expect(seen.etaAt).toBeGreaterThan(Date.now());
    expect(['low', 'medium', 'high']).toContain(seen.velocity.confidence);
    expect(seen.percent).toBeGreaterThan(seen.stepsPercent);
    expect(seen.recent.map((e) => e.kind)).toContain('step');

    // The raw query (Temporal CLI, Web UI) knows items too, from the step's own reports.
    const raw = await t.env.client.workflow.getHandle('progress').query(progressQuery);
    expect(raw.items?.done).toBeGreaterThan(0);
    expect(raw.history.length).toBeGreaterThan(1);
    await t.longrun.result('progress');
  });
});

describe('list and watch', () => {
  it('lists concurrent tasks filtered by state and agent', async () => {
    const gate = join(t.dir, 'list.gate');
    const ledger = join(t.dir, 'list.ledger');
    const spec = (taskId: string, agent: string): TaskSpecInput => ({
      v: 1,
      taskId,
      agent,
      phases: [
        { id: 'p', steps: [{ id: 'g', action: 'test.gate', input: { file: gate, ledger, label: taskId } }] },
      ],
    });
    await Promise.all([
      t.longrun.start(spec('alpha-1', 'alpha')),
      t.longrun.start(spec('alpha-2', 'alpha')),
      t.longrun.start(spec('alpha-3', 'alpha')),
      t.longrun.start(spec('beta-1', 'beta')),
      t.longrun.start(spec('beta-2', 'beta')),
    ]);
    await waitFor('all executing', async () => {
      const all = await t.longrun.list({ running: true });
      const ids = all.filter((t) => t.state === 'executing' && /^(alpha|beta)-/.test(t.taskId));
      return ids.length === 5 ? true : undefined;
    });
    await t.longrun.pause('alpha-2');
    const ids = async (filter: Parameters<LongrunClient['list']>[0]) =>
      (await t.longrun.list(filter)).map((t) => t.taskId).sort();
    await waitFor('paused listed', async () =>
      (await ids({ state: 'paused', agent: 'alpha' })).join() === 'alpha-2' ? true : undefined
    );
    expect(await ids({ agent: 'alpha' })).toEqual(['alpha-1', 'alpha-2', 'alpha-3']);
    expect(await ids({ agent: 'beta', state: 'executing' })).toEqual(['beta-1', 'beta-2']);
    expect(await ids({ agent: 'beta', state: 'paused' })).toEqual([]);
    const row = (await t.longrun.list({ agent: 'alpha', state: 'paused' }))[0];
    expect(row).toMatchObject({
      taskId: 'alpha-2',
      execution: 'RUNNING',
      durability: 'standard',
      phase: 'p',
    });
    await expect(t.longrun.list({ state: 'sleeping' as never })).rejects.toThrow(
      /list filter: state: must be one of created, planning/
    );

    // watch follows a task to its end.
    await t.longrun.resume('alpha-2');
    const watched: string[] = [];
    const watching = (async () => {
      for await (const p of t.longrun.watch('alpha-1', { intervalMs: 200 })) watched.push(p.state);
    })();
    await new Promise((r) => setTimeout(r, 500));
    writeFileSync(gate, 'open');
    await watching;
    expect(watched[0]).toBe('executing');
    expect(watched[watched.length - 1]).toBe('completed');
    await Promise.all(['alpha-2', 'alpha-3', 'beta-1', 'beta-2'].map((id) => t.longrun.result(id)));
  });
});
