/**
 * Recovery strategies end to end on the dev server: transient failures retried after Retry-After,
 * a failing non-critical step skipped, a critical failure rolled back to the latest checkpoint once,
 * a permanent failure stopping the task at once; the `failures` query records each decision.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FailureRecord } from '../../src/shared/failures';
import type { TaskSpecInput } from '../../src/shared/spec';
import { failuresQuery } from '../../src/workflows/messages';
import { useWorkerEnv } from '../support/temporal';
import { testActions } from '../support/test-actions';

const TASK_QUEUE = 'recovery-test';
const t = useWorkerEnv({ taskQueue: TASK_QUEUE, actions: testActions });

const lines = (path: string) =>
  existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : [];

function flaky(
  taskId: string,
  id: string,
  kind: string,
  failures: number,
  extra: Record<string, unknown> = {}
) {
  return {
    id,
    action: 'test.flaky',
    input: {
      ledger: join(t.dir, `${taskId}.ledger`),
      label: id,
      counter: join(t.dir, `${taskId}-${id}.count`),
      failures,
      kind,
      ...extra,
    },
  };
}
const tally = (taskId: string, id: string) => ({
  id,
  action: 'test.tally',
  input: { ledger: join(t.dir, `${taskId}.ledger`), label: id },
});

async function failures(taskId: string): Promise<FailureRecord[]> {
  return t.env.client.workflow.getHandle(taskId).query(failuresQuery);
}

describe('recovery strategies', () => {
  it('retries a transient failure after the Retry-After the step gave, then completes', async () => {
    const spec: TaskSpecInput = {
      v: 1,
      taskId: 'transient',
      agent: 'recovery-test',
      durability: 'high',
      phases: [{ id: 'p', steps: [flaky('transient', 'call', 'transient', 2, { retryAfterMs: 1_500 })] }],
    };
    await t.longrun.start(spec);
    expect(await t.longrun.result('transient')).toMatchObject({
      state: 'completed',
      outputs: { call: { calls: 3 } },
    });
    const times = lines(join(t.dir, 'transient.ledger')).map((l) => Number(l.split('@')[1]));
    expect(times).toHaveLength(3);
    expect((times[1] as number) - (times[0] as number)).toBeGreaterThanOrEqual(1_400); // not the 0.5 s backoff
    expect((times[2] as number) - (times[1] as number)).toBeGreaterThanOrEqual(1_400);
    expect(await failures('transient')).toEqual([]); // retried within the step: no decision needed
  });

  it('empties the step temp folder after running out of disk, and retries after the given wait', async () => {
    const ledger = join(t.dir, 'diskfull.ledger');
    await t.longrun.start({
      v: 1,
      taskId: 'diskfull',
      agent: 'recovery-test',
      phases: [
        {
          id: 'p',
          steps: [
            { id: 'write', action: 'test.diskfull', input: { ledger, failures: 1, retryAfterMs: 1_500 } },
          ],
        },
      ],
    });
    const started = Date.now();
    const result = await t.longrun.result('diskfull');
    expect(result.outputs.write).toEqual({ attempt: 2 });
    // The first attempt left a scratch file behind; the retry found the temp folder emptied.
    expect(lines(ledger)).toEqual(['attempt 1: 0 files in tempDir', 'attempt 2: 0 files in tempDir']);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_500);
  });

  it('skips a failing non-critical step, records why, and completes the rest', async () => {
    const spec: TaskSpecInput = {
      v: 1,
      taskId: 'skip',
      agent: 'recovery-test',
      phases: [
        {
          id: 'p',
          steps: [
            tally('skip', 'a'),
            { ...flaky('skip', 'optional', 'permanent', 99), critical: false },
            tally('skip', 'c'),
          ],
        },
      ],
    };
    await t.longrun.start(spec);
    const result = await t.longrun.result('skip');
    expect(result).toMatchObject({ state: 'completed', skipped: ['optional'], stepsCompleted: 3 });
    expect(lines(join(t.dir, 'skip.ledger')).map((l) => l.split('@')[0])).toEqual(['a', 'optional', 'c']); // permanent: one attempt
    expect(await failures('skip')).toEqual([
      expect.objectContaining({ stepId: 'optional', kind: 'permanent', attempt: 1, decision: 'skip' }),
    ]);
    expect(
      (await t.longrun.logs('skip')).some((e) =>
        e.message.startsWith('step optional skipped (not critical) after a permanent failure')
      )
    ).toBe(true);
  });

  it('rolls a critical failure back to the latest checkpoint once, and succeeds on the second run', async () => {
    const spec: TaskSpecInput = {
      v: 1,
      taskId: 'rollback',
      agent: 'recovery-test',
      durability: 'high',
      // 3 attempts fail (the critical limit), the rollback re-runs from the phase checkpoint, attempt 4 succeeds.
      phases: [
        { id: 'one', steps: [tally('rollback', 'a')] },
        { id: 'two', steps: [tally('rollback', 'b'), flaky('rollback', 'index', 'critical', 3)] },
      ],
    };
    await t.longrun.start(spec);
    expect(await t.longrun.result('rollback')).toMatchObject({ state: 'completed', stepsCompleted: 3 });
    // a ran once; the rollback to the end of phase one ran b again.
    expect(lines(join(t.dir, 'rollback.ledger')).map((l) => l.split('@')[0])).toEqual([
      'a',
      'b',
      'index',
      'index',
      'index',
      'b',
      'index',
    ]);
    expect(await failures('rollback')).toEqual([
      expect.objectContaining({ stepId: 'index', kind: 'critical', attempt: 3, decision: 'rollback' }),
    ]);
  });

  it('stops with a recovery checkpoint when a critical failure comes back after the rollback', async () => {
    const spec: TaskSpecInput = {
      v: 1,
      taskId: 'stop',
      agent: 'recovery-test',
      durability: 'high',
      phases: [
        { id: 'one', steps: [tally('stop', 'a')] },
        { id: 'two', steps: [flaky('stop', 'index', 'critical', 99)] },
      ],
    };
    await t.longrun.start(spec);
    await expect(t.longrun.result('stop')).rejects.toThrow();
    const recorded = await failures('stop');
    expect(recorded.map((f) => f.decision)).toEqual(['rollback', 'fail']);
    const progress = await t.longrun.progress('stop');
    expect(progress.state).toBe('failed');
    expect(progress.error).toBe('step index failed: critical failure 6 of 99');
    expect((await t.longrun.checkpoints('stop')).pop()).toMatchObject({ type: 'recovery', stepId: 'index' });
  });
});
