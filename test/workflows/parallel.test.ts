/**
 * Engine v2 on a real dev server: steps with `needs`, parallel phases, `forEach` fan-out and fan-in,
 * and everything that works for one running step working for several (pause, cancel, checkpoints,
 * rollback, progress). The worker keeps no workflow in its cache, so every workflow task replays the
 * task's history from the start: any nondeterminism fails the test at once.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from '@temporalio/worker';
import type { TaskSpecInput } from '../../src/shared/spec';
import { testActions } from '../support/test-actions';
import { recordHistory, useWorkerEnv, workflowBundle } from '../support/temporal';
import { waitFor } from '../support/worker-process';

const t = useWorkerEnv({
  taskQueue: 'parallel-test',
  actions: testActions,
  progressSignalMs: 500,
  workerOptions: { maxCachedWorkflows: 0 },
});

const lines = (path: string) =>
  existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : [];
const ledger = (taskId: string) => join(t.dir, `${taskId}.ledger`);

/** Item lines of a label (`label:i`) in the order they were written. */
const itemsOf = (path: string, label: string) => lines(path).filter((l) => l.startsWith(`${label}:`));

async function replays(taskId: string): Promise<void> {
  const history = await t.env.client.workflow.getHandle(taskId).fetchHistory();
  await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, taskId);
}

describe('steps in parallel', () => {
  it('runs a parallel phase and needs-joined steps at once, and joins them before the next phase', async () => {
    const taskId = 'parallel-phase';
    const path = ledger(taskId);
    const slow = (id: string, items: number) => ({
      id,
      action: 'test.slow',
      input: { ledger: path, label: id, items, itemMs: 50 },
    });
    const spec: TaskSpecInput = {
      v: 1,
      taskId,
      agent: 'test',
      phases: [
        { id: 'fetch', maxParallel: 3, steps: [slow('a', 20), slow('b', 20), slow('c', 20)] },
        {
          id: 'join',
          steps: [
            { id: 'ab', action: 'test.tally', input: { ledger: path, label: 'ab' }, needs: ['a', 'b'] },
            { id: 'end', action: 'test.tally', input: { ledger: path, label: 'end' } },
          ],
        },
      ],
    };
    const started = Date.now();
    await t.longrun.start(spec);
    const seen = await waitFor('three running steps', async () => {
      const p = await t.longrun.progress(taskId);
      return (p.running ?? []).filter((r) => r.state === 'running').length === 3 ? p : undefined;
    });
    expect(seen.running?.map((r) => r.id)).toEqual(['a', 'b', 'c']);
    const result = await t.longrun.result(taskId);
    const tookMs = Date.now() - started;
    expect(result).toMatchObject({ state: 'completed', stepsCompleted: 5 });
    // 20 items of 50 ms each, three at once: well under the 3 s they take one after another.
    expect(tookMs).toBeLessThan(2_800);
    const all = lines(path);
    for (const id of ['a', 'b', 'c'])
      expect(itemsOf(path, id)).toEqual(Array.from({ length: 20 }, (_, i) => `${id}:${i}`));
    // The steps interleave (they ran at once) and the join ran after all three.
    expect(all.indexOf('a:19')).toBeGreaterThan(all.indexOf('b:0'));
    expect(all.indexOf('ab')).toBeGreaterThan(Math.max(all.indexOf('a'), all.indexOf('b'), all.indexOf('c')));
    expect(all.at(-1)).toBe('end');
    const plan = await t.longrun.client.workflow
      .getHandle(taskId)
      .query<{ id: string; needs?: string[]; status?: string }[]>('plan');
    expect(plan.find((s) => s.id === 'ab')).toMatchObject({ needs: ['a', 'b'], status: 'done' });
    await replays(taskId);
  });
});

describe('fan-out and fan-in', () => {
  it('runs one sub-step per item, maxParallel at once, and gathers their outputs in item order', async () => {
    const taskId = 'fan-out';
    const path = ledger(taskId);
    const spec: TaskSpecInput = {
      v: 1,
      taskId,
      agent: 'test',
      phases: [
        { id: 'list', steps: [{ id: 'list', action: 'test.list', input: { count: 12 } }] },
        {
          id: 'work',
          steps: [
            {
              id: 'each',
              action: 'test.slow',
              forEach: { $from: 'list.items' },
              maxParallel: 3,
              input: { ledger: path, label: { $item: 'label' }, items: 5, itemMs: 40 },
            },
            {
              id: 'fromArtifact',
              action: 'test.echo',
              forEach: { $from: 'list.artifact' },
              maxParallel: 4,
              input: { value: { $item: true } },
            },
          ],
        },
        {
          id: 'fan-in',
          steps: [
            { id: 'collect', action: 'test.collect', input: { outputs: { $from: 'fromArtifact.outputs' } } },
          ],
        },
      ],
    };
    await t.longrun.start(spec);
    const fanning = await waitFor('a fan-out in flight', async () => {
      const p = await t.longrun.progress(taskId);
      const each = p.running?.find((r) => r.id === 'each');
      return each?.fanOut && each.fanOut.running > 0 ? each : undefined;
    });
    expect(fanning.fanOut?.total).toBe(12);
    expect(fanning.fanOut?.running).toBeLessThanOrEqual(3);
    const result = await t.longrun.result(taskId);
    expect(result.state).toBe('completed');
    for (let i = 0; i < 12; i++) {
      expect(itemsOf(path, `item${i}`)).toEqual([0, 1, 2, 3, 4].map((n) => `item${i}:${n}`));
    }
    // Each artifact item reached its sub-step; the fan-in got every output, in item order.
    expect(result.outputs.collect).toEqual({ count: 12, missing: 0, sum: 66 });
    expect(result.outputs.fromArtifact).toMatchObject({ items: 12, completed: 12, failedItems: [] });
    const logs = (await t.longrun.logs(taskId)).map((e) => e.message);
    expect(logs).toContain('step each fans out over 12 items');
    await replays(taskId);
    recordHistory(t.env, taskId, 'long-task-fan-out-v4.json');
  });

  it('skips a failing item of a non-critical fan-out and lists it; the rest completes', async () => {
    const taskId = 'fan-out-skip';
    const path = ledger(taskId);
    const counter = join(t.dir, 'fan-skip.counter');
    writeFileSync(counter, '0');
    const spec: TaskSpecInput = {
      v: 1,
      taskId,
      agent: 'test',
      phases: [
        {
          id: 'p',
          steps: [
            {
              id: 'each',
              action: 'test.flaky',
              critical: false,
              forEach: ['i0', 'i1', 'i2'],
              maxParallel: 1,
              // Only the first call fails, permanently: item 0 is skipped, items 1 and 2 succeed.
              input: { ledger: path, label: { $item: true }, counter, failures: 1, kind: 'permanent' },
            },
          ],
        },
      ],
    };
    await t.longrun.start(spec);
    const result = await t.longrun.result(taskId);
    expect(result.state).toBe('completed');
    expect(result.outputs.each).toMatchObject({ items: 3, completed: 2, failedItems: [[0, 0]] });
    const failures = await t.longrun.client.workflow
      .getHandle(taskId)
      .query<{ stepId: string; message: string; decision: string }[]>('failures');
    expect(failures).toEqual([
      expect.objectContaining({
        stepId: 'each',
        decision: 'skip',
        message: expect.stringMatching(/^item 0: /),
      }),
    ]);
  });

  it('refuses a spec whose steps wait in a cycle, or read a step that does not run first, and starts nothing', async () => {
    const bad: TaskSpecInput = {
      v: 1,
      taskId: 'bad-graph',
      agent: 'test',
      phases: [
        {
          id: 'p',
          maxParallel: 2,
          steps: [
            { id: 'a', action: 'test.tally', input: { ledger: 'x', label: 'a' }, needs: ['b'] },
            {
              id: 'b',
              action: 'test.tally',
              input: { ledger: 'x', label: { $from: 'a.label' } },
              needs: ['a'],
            },
          ],
        },
      ],
    };
    await expect(t.longrun.start(bad)).rejects.toThrow(/cycle: (a → b → a|b → a → b)/);
    await expect(t.longrun.client.workflow.getHandle('bad-graph').describe()).rejects.toThrow(/not found/);
  });
});

describe('steering several running steps', () => {
  const fanSpec = (taskId: string, items: number, itemMs: number): TaskSpecInput => ({
    // solo has 200 items, each fan-out item `items`: all of them run at once.
    v: 1,
    taskId,
    agent: 'test',
    phases: [
      {
        id: 'p',
        maxParallel: 2,
        steps: [
          {
            id: 'solo',
            action: 'test.slow',
            input: { ledger: ledger(taskId), label: 'solo', items: 200, itemMs },
          },
          {
            id: 'fan',
            action: 'test.slow',
            forEach: ['x', 'y', 'z'],
            maxParallel: 3,
            input: { ledger: ledger(taskId), label: { $item: true }, items, itemMs },
          },
        ],
      },
    ],
  });

  it('pauses every running step with its cursor, keeps the percent, and resumes each where it stopped', async () => {
    const taskId = 'pause-many';
    await t.longrun.start(fanSpec(taskId, 150, 30));
    await waitFor('items in flight', async () =>
      (await t.longrun.progress(taskId)).percent > 10 ? true : undefined
    );
    const paused = await t.longrun.pause(taskId, { reason: 'look' });
    expect(paused.state).toBe('paused');
    const counts = () => ['solo', 'x', 'y', 'z'].map((l) => itemsOf(ledger(taskId), l).length);
    const atPause = counts();
    expect(atPause.every((n) => n > 0)).toBe(true);
    // The percent stays where the work is (not at the step boundary), and time still moves at read time.
    expect(paused.percent).toBeGreaterThan(10);
    expect(paused.running?.map((r) => [r.id, r.state])).toEqual([
      ['solo', 'stopped'],
      ['fan', 'stopped'],
    ]);
    const first = await t.longrun.progress(taskId);
    await new Promise((r) => setTimeout(r, 1_200));
    const second = await t.longrun.progress(taskId);
    expect(counts()).toEqual(atPause);
    expect(second.percent).toBeCloseTo(first.percent, 5);
    expect(second.elapsedMs - first.elapsedMs).toBeGreaterThanOrEqual(1_000);
    expect(second.activeMs).toBe(first.activeMs);

    await t.longrun.resume(taskId);
    const result = await t.longrun.result(taskId);
    expect(result.state).toBe('completed');
    expect(itemsOf(ledger(taskId), 'solo')).toEqual(Array.from({ length: 200 }, (_, i) => `solo:${i}`));
    for (const l of ['x', 'y', 'z'])
      expect(itemsOf(ledger(taskId), l)).toEqual(Array.from({ length: 150 }, (_, i) => `${l}:${i}`));
    const logs = (await t.longrun.logs(taskId)).map((e) => e.message);
    expect(logs.find((m) => m.startsWith('paused at steps'))).toMatch(
      /^paused at steps solo \(cursor \{"next":\d+\}\), fan \(0 of 3 items done\)$/
    );
    await replays(taskId);
  });

  it('cancels every running step: the final checkpoint holds each cursor, the result is partial and cancelled', async () => {
    const taskId = 'cancel-many';
    await t.longrun.start(fanSpec(taskId, 400, 20));
    await waitFor('items in flight', async () =>
      (await t.longrun.progress(taskId)).percent > 5 ? true : undefined
    );
    const progress = await t.longrun.cancel(taskId, { reason: 'enough' });
    expect(progress.state).toBe('cancelled');
    const result = await t.longrun.result(taskId);
    expect(result).toMatchObject({
      state: 'cancelled',
      reason: 'enough',
      stepsCompleted: 0,
      stepsRemaining: 2,
    });
    const final = (await t.longrun.checkpoints(taskId)).pop();
    expect(final?.label).toMatch(/^final checkpoint: cancelled during step /);
    const solo = itemsOf(ledger(taskId), 'solo').length;
    expect(final?.position?.stopped.solo?.cursor).toEqual({ next: solo });
    const fan = final?.position?.fans.fan;
    expect(fan?.total).toBe(3);
    for (const [i, label] of ['x', 'y', 'z'].entries()) {
      expect(fan?.stopped[String(i)]?.cursor).toEqual({ next: itemsOf(ledger(taskId), label).length });
    }
  });
});
