import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { LongrunClient, TaskRequestRejectedError, UnknownCheckpointError } from '../../src/client';
import { builtinActions } from '../../src/worker/factory';
import type { TaskSpecInput } from '../../src/shared/spec';
import { ValidationError } from '../../src/shared/validation';
import { testActions } from '../support/test-actions';
import { inProcessWorker, startDevServerEnv, workflowBundle } from '../support/temporal';
import { expectManySteps } from '../support/many-steps';
import { waitFor } from '../support/worker-process';

const TASK_QUEUE = 'engine-test';
const HISTORIES = join(__dirname, '..', 'fixtures', 'histories');
// A low threshold makes the server suggest continue-as-new after a few dozen steps.
const SUGGEST_CONTINUE_AS_NEW_AT = 200;

let env: TestWorkflowEnvironment;
let worker: Worker;
let running: Promise<void>;
let dir: string;
let longrun: LongrunClient;

beforeAll(async () => {
  env = await startDevServerEnv([
    '--dynamic-config-value',
    `limit.historyCount.suggestContinueAsNew=${SUGGEST_CONTINUE_AS_NEW_AT}`,
  ]);
  dir = mkdtempSync(join(tmpdir(), 'longrun-engine-'));
  ({ worker } = await inProcessWorker({
    connection: env.nativeConnection,
    taskQueue: TASK_QUEUE,
    actions: [...builtinActions, ...testActions],
    dir,
    workerOptions: { maxCachedWorkflows: 100 },
  }));
  running = worker.run();
  longrun = new LongrunClient(env.client, TASK_QUEUE);
});

afterAll(async () => {
  worker?.shutdown();
  await running;
  await env?.teardown();
  rmSync(dir, { recursive: true, force: true });
});

function ledgerLines(path: string): string[] {
  return existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : [];
}

/** Item lines of a label (`label:i`) in the order they were written. */
const itemsOf = (path: string, label: string) => ledgerLines(path).filter((l) => l.startsWith(`${label}:`));

function tally(id: string, ledger: string, extra: Record<string, unknown> = {}) {
  return { id, action: 'test.tally', input: { ledger, label: id }, ...extra };
}

describe('named checkpoints and lifecycle', () => {
  it('records phase, milestone and pre-risky checkpoints and logs every transition', async () => {
    const ledger = join(dir, 'flags.ledger');
    const spec: TaskSpecInput = {
      v: 1,
      taskId: 'flags',
      agent: 'test',
      phases: [
        { id: 'prepare', steps: [tally('a', ledger), tally('b', ledger, { milestone: true })] },
        { id: 'change', steps: [tally('c', ledger, { risky: true })] },
      ],
    };
    await longrun.start(spec);
    const result = await longrun.result('flags');
    expect(result).toMatchObject({ state: 'completed', runs: 1, stepsCompleted: 3 });
    expect(ledgerLines(ledger)).toEqual(['a', 'b', 'c']);

    const checkpoints = await longrun.checkpoints('flags');
    expect(checkpoints.map((c) => [c.id, c.stepIndex, c.stepId, c.label])).toEqual([
      ['milestone-1', 2, 'c', 'after milestone step b'],
      ['phase-2', 2, 'c', 'end of phase prepare'],
      ['pre-risky-3', 2, 'c', 'before risky step c'],
      ['phase-4', 3, null, 'end of phase change'],
    ]);
    const { runId } = await env.client.workflow.getHandle('flags').describe();
    expect(checkpoints.every((c) => c.runId === runId && c.resetEventId > 3)).toBe(true);

    const lifecycle = await longrun.lifecycle('flags');
    expect(lifecycle.state).toBe('completed');
    const path = lifecycle.transitions.map((t) => t.to);
    expect(path[0]).toBe('planning');
    expect(path.slice(1, 2)).toEqual(['executing']);
    // One checkpointing round after b (its milestone and its phase's end), one before c, one after it.
    expect(path.filter((s) => s === 'checkpointing')).toHaveLength(3);
    expect(path.slice(-2)).toEqual(['completing', 'completed']);
    expect(lifecycle.transitions.every((t) => typeof t.trigger === 'string' && t.at > 0)).toBe(true);
    expect(lifecycle.pausedMs).toBe(0);
    expect(lifecycle.activeMs).toBe(lifecycle.totalMs);
    expect(lifecycle.progressHistory.map((s) => s.stepsCompleted)).toEqual([1, 2, 3]);
  });
});

describe('manual checkpoints and rollback', () => {
  const ledger = () => join(dir, 'rollback.ledger');
  const gate = () => join(dir, 'rollback.gate');

  it('records a manual checkpoint on request and rejects bad requests with the rule', async () => {
    const spec: TaskSpecInput = {
      v: 1,
      taskId: 'rollback',
      agent: 'test',
      phases: [
        { id: 'one', steps: [tally('a', ledger())] },
        {
          id: 'two',
          steps: [{ id: 'b', action: 'test.gate', input: { file: gate(), ledger: ledger(), label: 'b' } }],
        },
        { id: 'three', steps: [tally('c', ledger())] },
      ],
    };
    await longrun.start(spec);
    await waitFor('step b', async () =>
      (await longrun.progress('rollback')).step.id === 'b' ? true : undefined
    );

    const manual = await longrun.checkpoint('rollback', 'while b waits');
    expect(manual).toMatchObject({ type: 'manual', label: 'while b waits', stepId: 'b', stepIndex: 1 });
    await expect(longrun.checkpoint('rollback', '  ')).rejects.toThrow(ValidationError);
    await expect(longrun.checkpoint('rollback', '  ')).rejects.toThrow(
      'invalid checkpoint request: label: must not be empty'
    );

    writeFileSync(gate(), 'open');
    await longrun.result('rollback');
    expect(ledgerLines(ledger())).toEqual(['a', 'b', 'c']);
    await expect(longrun.checkpoint('rollback', 'too late')).rejects.toThrow(TaskRequestRejectedError);
    await expect(longrun.checkpoint('rollback', 'too late')).rejects.toThrow(/the task is completed/);
  });

  it('rolls back to a named checkpoint: later steps run again, earlier ones do not, later updates are not reapplied', async () => {
    const before = await longrun.checkpoints('rollback');
    expect(before.map((c) => c.id)).toEqual(['phase-1', 'manual-2', 'phase-3', 'phase-4']);

    const rollback = await longrun.rollback('rollback', 'phase-1');
    expect(rollback.stepsToRedo).toEqual(['b', 'c']);
    expect(rollback.runId).not.toBe(before[0]?.runId);
    const result = await longrun.result('rollback');
    expect(result.stepsCompleted).toBe(3);
    // a ran once; b and c ran again after the rollback.
    expect(ledgerLines(ledger())).toEqual(['a', 'b', 'c', 'b', 'c']);
    // The manual checkpoint came from an update after the reset point: not reapplied.
    const after = await longrun.checkpoints('rollback');
    expect(after.map((c) => c.id)).toEqual(['phase-1', 'phase-2', 'phase-3']);
    expect(after.every((c) => c.runId === rollback.runId)).toBe(true);
    const history = await env.client.workflow.getHandle('rollback').fetchHistory();
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, 'after-rollback');
  });

  it('records a manual checkpoint with the live cursors, and rolls back to it twice', async () => {
    const taskId = 'checkpoint-live';
    const gate = join(dir, 'checkpoint-live.gate');
    const path = join(dir, `${taskId}.ledger`);
    await longrun.start({
      v: 1,
      taskId,
      agent: 'test',
      phases: [
        {
          id: 'p',
          steps: [
            {
              id: 'work',
              action: 'test.slow',
              input: { ledger: path, label: 'work', items: 60, itemMs: 30 },
            },
            { id: 'hold', action: 'test.gate', input: { file: gate, ledger: path, label: 'hold' } },
          ],
        },
      ],
    });
    await waitFor('20 items', () => (itemsOf(path, 'work').length >= 20 ? true : undefined));
    const record = await longrun.checkpoint(taskId, 'mid-step');
    const cursor = (record.cursor as { next: number }).next;
    // The cursor of the moment it was taken (the step handed it over), not of the step's start.
    expect(cursor).toBeGreaterThanOrEqual(20);
    expect(record).toMatchObject({
      stepId: 'work',
      position: { stopped: { work: { cursor: { next: cursor } } } },
    });
    await waitFor('the gate step', async () =>
      (await longrun.progress(taskId)).step.id === 'hold' ? true : undefined
    );
    expect(itemsOf(path, 'work')).toEqual(Array.from({ length: 60 }, (_, i) => `work:${i}`));

    for (const round of [1, 2]) {
      const rolled = await longrun.rollback(taskId, record.id);
      expect(rolled.stepsToRedo).toEqual(['work']);
      await waitFor(`the gate step again (${round})`, async () =>
        (await longrun.progress(taskId)).step.id === 'hold' ? true : undefined
      );
      // The rollback kept the checkpoint (it was recorded in a workflow task the reset replays).
      expect((await longrun.checkpoints(taskId)).map((c) => c.id)).toContain(record.id);
      // Work resumed at the checkpoint's cursor: items from it on ran once more, none before it.
      const again = itemsOf(path, 'work').slice(60 + (round - 1) * (60 - cursor));
      expect(again).toEqual(Array.from({ length: 60 - cursor }, (_, i) => `work:${cursor + i}`));
    }
    writeFileSync(gate, 'open');
    expect((await longrun.result(taskId)).state).toBe('completed');
  });

  it('names the unknown checkpoint and lists the existing ones', async () => {
    await expect(longrun.rollback('rollback', 'nope')).rejects.toThrow(UnknownCheckpointError);
    await expect(longrun.rollback('rollback', 'nope')).rejects.toThrow(
      'task "rollback" has no checkpoint "nope"; it has: phase-1, phase-2, phase-3'
    );
  });
});

describe('continue-as-new', () => {
  it('runs a 120-step task across several runs with correct totals and bounded state', async () => {
    // The soak tier runs the same with 5,000 steps (test/soak/five-thousand-steps.test.ts).
    await expectManySteps(longrun, {
      taskId: 'one-hundred-twenty',
      ledger: join(dir, 'long.ledger'),
      phases: 2,
      stepsPerPhase: 60,
    });
  });

  it('rolls back to a checkpoint recorded in an earlier run', async () => {
    const ledger = join(dir, 'earlier-run.ledger');
    const phases = Array.from({ length: 5 }, (_, p) => ({
      id: `p${p}`,
      steps: Array.from({ length: 20 }, (_, s) => tally(`s${p * 20 + s}`, ledger)),
    }));
    await longrun.start({ v: 1, taskId: 'earlier-run', agent: 'test', phases });
    const first = await longrun.result('earlier-run');
    expect(first.runs).toBeGreaterThan(1);
    const checkpoints = await longrun.checkpoints('earlier-run');
    const { runId: currentRun } = await env.client.workflow.getHandle('earlier-run').describe();
    const old = checkpoints.find((c) => c.type === 'phase' && c.runId !== currentRun);
    expect(old).toBeDefined();

    if (process.env.LONGRUN_RECORD_HISTORY === '1') {
      // The first run's history ends with WorkflowExecutionContinuedAsNew: a replay fixture for that path.
      const json = execFileSync(process.env.LONGRUN_TEMPORAL_CLI as string, [
        ...[
          'workflow',
          'show',
          '--workflow-id',
          'earlier-run',
          '--run-id',
          first.runs > 1 ? checkpoints[0]!.runId : '',
        ],
        ...['--address', env.address, '--output', 'json'],
      ]);
      writeFileSync(join(HISTORIES, 'long-task-continued-as-new-v4.json'), json);
    }

    const rollback = await longrun.rollback('earlier-run', old!.id);
    expect(rollback.stepsToRedo).toHaveLength(100 - old!.stepIndex);
    const again = await longrun.result('earlier-run');
    expect(again.stepsCompleted).toBe(100);
    const lines = ledgerLines(ledger);
    const expected = Array.from({ length: 100 }, (_, i) => `s${i}`);
    expect(lines).toEqual([...expected, ...expected.slice(old!.stepIndex)]);
  });
});
