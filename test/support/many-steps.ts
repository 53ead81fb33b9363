import { existsSync, readFileSync } from 'node:fs';
import type { LongrunClient } from '../../src/client';

/**
 * Runs a task of `phases` x `stepsPerPhase` tally steps (a milestone at the end of every tenth phase,
 * basic durability) on a server that suggests continue-as-new early, and checks what a task of any
 * length must keep: every step once in order, totals right, state bounded across its runs.
 */
export async function expectManySteps(
  longrun: LongrunClient,
  opts: { taskId: string; ledger: string; phases: number; stepsPerPhase: number }
): Promise<void> {
  const { taskId, ledger, stepsPerPhase } = opts;
  const total = opts.phases * stepsPerPhase;
  const phases = Array.from({ length: opts.phases }, (_, p) => ({
    id: `p${p}`,
    steps: Array.from({ length: stepsPerPhase }, (_, s) => ({
      id: `s${p * stepsPerPhase + s}`,
      action: 'test.tally',
      input: { ledger, label: `s${p * stepsPerPhase + s}` },
      milestone: s === stepsPerPhase - 1 && p % 10 === 9,
    })),
  }));
  const started = Date.now();
  await longrun.start({ v: 1, taskId, agent: 'test', durability: 'basic', phases });
  const result = await longrun.result(taskId);
  const seconds = (Date.now() - started) / 1000;

  expect(result.stepsCompleted).toBe(total);
  expect(result.runs).toBeGreaterThan(1);
  const lines = existsSync(ledger) ? readFileSync(ledger, 'utf8').split('\n').filter(Boolean) : [];
  expect(lines).toEqual(Array.from({ length: total }, (_, i) => `s${i}`));
  const progress = await longrun.progress(taskId);
  expect(progress).toMatchObject({
    state: 'completed',
    percent: 100,
    stepsCompleted: total,
    run: result.runs,
  });
  const checkpoints = await longrun.checkpoints(taskId);
  expect(checkpoints.length).toBeLessThanOrEqual(50);
  expect(checkpoints.filter((c) => c.type === 'milestone')).toHaveLength(Math.floor(opts.phases / 10));
  expect(new Set(checkpoints.map((c) => c.runId)).size).toBeGreaterThan(1);
  const lifecycle = await longrun.lifecycle(taskId);
  expect(lifecycle.transitions.length).toBeLessThanOrEqual(50);
  expect(lifecycle.transitionCount).toBeGreaterThan(opts.phases * 2);
  expect(lifecycle.progressHistory.length).toBeLessThanOrEqual(100);
  expect(lifecycle.progressHistory.at(-1)?.stepsCompleted).toBe(total);
  // Outputs of the last phase and of milestone steps are kept, not one per step.
  expect(Object.keys(result.outputs)).toHaveLength(
    stepsPerPhase + Math.floor(opts.phases / 10) - (opts.phases % 10 === 0 ? 1 : 0)
  );
  console.log(`${total} steps in ${result.runs} runs, ${seconds.toFixed(1)} s`);
}
