/**
 * History stays bounded while a step runs: with the server suggesting continue-as-new early, one long
 * step hands its cursor over several times and resumes at once in each new run. Every item is done
 * once, and progress read from outside moves on across the runs without going back.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TaskProgress } from '../../src/shared/progress';
import { testActions } from '../support/test-actions';
import { recordHistory, useWorkerEnv } from '../support/temporal';

const t = useWorkerEnv({
  taskQueue: 'handover-test',
  actions: testActions,
  // A step reports progress every 100 ms (a signal each: the history grows while it runs).
  progressSignalMs: 100,
  serverArgs: ['--dynamic-config-value', 'limit.historyCount.suggestContinueAsNew=120'],
});

async function firstRunId(taskId: string): Promise<string> {
  const runs: { runId: string; start: number }[] = [];
  for await (const info of t.env.client.workflow.list({ query: `WorkflowId = '${taskId}'` })) {
    runs.push({ runId: info.runId, start: info.startTime.getTime() });
  }
  return runs.sort((a, b) => a.start - b.start)[0]?.runId ?? '';
}

const lines = (path: string) =>
  existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : [];

it('continues as new at least three times while one step runs, redoing nothing, progress continuous', async () => {
  const taskId = 'long-step';
  const ledger = join(t.dir, 'long-step.ledger');
  const items = 700;
  await t.longrun.start({
    v: 1,
    taskId,
    agent: 'test',
    phases: [
      {
        id: 'p',
        steps: [{ id: 'work', action: 'test.slow', input: { ledger, label: 'work', items, itemMs: 25 } }],
      },
    ],
  });
  const seen: TaskProgress[] = [];
  const poll = (async () => {
    for (;;) {
      const p = await t.longrun.progress(taskId).catch(() => undefined);
      if (p) seen.push(p);
      if (p?.state === 'completed') return;
      await new Promise((r) => setTimeout(r, 150));
    }
  })();
  const result = await t.longrun.result(taskId);
  await poll;

  expect(result.state).toBe('completed');
  expect(result.runs).toBeGreaterThanOrEqual(4);
  // Each item once, in order: every handover stopped the step between items and it resumed there.
  expect(lines(ledger)).toEqual(Array.from({ length: items }, (_, i) => `work:${i}`));

  // Progress as a reader saw it: later runs, never a step back, items moving in every run seen.
  const executing = seen.filter((p) => p.state === 'executing' || p.state === 'checkpointing');
  const runs = [...new Set(executing.map((p) => p.run))];
  expect(runs.length).toBeGreaterThanOrEqual(3);
  for (let i = 1; i < executing.length; i++) {
    const [a, b] = [executing[i - 1] as TaskProgress, executing[i] as TaskProgress];
    expect(b.run).toBeGreaterThanOrEqual(a.run);
    // A handover shows the step stopped with its cursor, at the same place: percent does not fall.
    expect(b.percent).toBeGreaterThanOrEqual(a.percent - 0.5);
  }
  const logs = (await t.longrun.logs(taskId)).map((e) => e.message);
  expect(logs.filter((m) => m.startsWith('continued as new: run')).length).toBeGreaterThanOrEqual(3);
  // The first run, which handed its running step over: a replay fixture for that path.
  if (process.env.LONGRUN_RECORD_HISTORY === '1') {
    recordHistory(t.env, taskId, 'long-task-handover-v4.json', await firstRunId(taskId));
  }
  expect(
    logs.filter((m) => /^step 1\/1 work \(test\.slow\) resumed from cursor \{"next":\d+\}$/.test(m)).length
  ).toBeGreaterThanOrEqual(3);
});
