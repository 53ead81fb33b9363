/**
 * Dead letters on the dev server: a failed task is listed with its last failure and recovery
 * checkpoint (from its memo), its webhooks hear `task.failed`, and `retry` runs it again from the
 * failed step (earlier steps are not redone), from the start, or from a named checkpoint.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { InvalidTransitionError, UnknownCheckpointError, UnknownTaskError } from '../../src/client';
import type { TaskSpecInput } from '../../src/shared/spec';
import type { WebhookEvent } from '../../src/shared/webhooks';
import { useWorkerEnv } from '../support/temporal';
import { testActions } from '../support/test-actions';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver';
import { waitFor } from '../support/worker-process';

const t = useWorkerEnv({ taskQueue: 'dead-letters-test', actions: testActions });
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

/** Step `a` tallies, step `b` fails permanently `failures` times (counted across runs), step `c` tallies. */
function failingSpec(taskId: string, failures = 1): TaskSpecInput {
  return {
    v: 1,
    taskId,
    agent: 'dead-letters-test',
    durability: 'basic',
    webhooks: [{ url: receiver.url, events: ['task.failed', 'task.completed'] }],
    phases: [
      {
        id: 'first',
        steps: [{ id: 'a', action: 'test.tally', input: { ledger: ledger(taskId), label: 'a' } }],
      },
      {
        id: 'second',
        steps: [
          {
            id: 'b',
            action: 'test.flaky',
            input: {
              ledger: ledger(taskId),
              label: 'b',
              counter: join(t.dir, `${taskId}.count`),
              failures,
              kind: 'permanent',
            },
          },
          { id: 'c', action: 'test.tally', input: { ledger: ledger(taskId), label: 'c' } },
        ],
      },
    ],
  };
}

async function failed(taskId: string): Promise<void> {
  await t.longrun.start(failingSpec(taskId));
  await expect(t.longrun.result(taskId)).rejects.toBeInstanceOf(WorkflowFailedError);
}
const labels = (taskId: string) => lines(ledger(taskId)).map((l) => l.replace(/@\d+$/, ''));

describe('dead letters', () => {
  it('lists a failed task with its failure and recovery checkpoint, and retries the failed step', async () => {
    await failed('dl-recovery');
    const [entry, ...others] = (await t.longrun.listFailed()).filter((f) => f.taskId === 'dl-recovery');
    expect(others).toEqual([]);
    expect(entry).toMatchObject({
      execution: 'FAILED',
      state: 'failed',
      agent: 'dead-letters-test',
      failure: { stepId: 'b', kind: 'permanent', decision: 'fail' },
      recoveryCheckpoint: { type: 'recovery', stepId: 'b', stepIndex: 1 },
    });
    expect(entry?.error).toMatch(/^step b failed: permanent failure 1 of 1/);
    const events = await waitFor('task.failed webhook', () => {
      const e = receiver.requests
        .map((r) => JSON.parse(r.body) as WebhookEvent)
        .filter((x) => x.taskId === 'dl-recovery' && x.type === 'task.failed');
      return e.length > 0 ? e : undefined;
    });
    expect(events[0]?.data).toMatchObject({ recoveryCheckpoint: entry?.recoveryCheckpoint?.id });

    const retried = await t.longrun.retry('dl-recovery');
    expect(retried).toMatchObject({ from: 'recovery', checkpoint: { id: entry?.recoveryCheckpoint?.id } });
    const result = await t.longrun.result('dl-recovery');
    expect(result.state).toBe('completed');
    // Step a ran once (not redone), b failed then succeeded, c ran once.
    expect(labels('dl-recovery')).toEqual(['a', 'b', 'b', 'c']);
    expect((await t.longrun.listFailed()).map((f) => f.taskId)).not.toContain('dl-recovery');
  });

  it('retries from the start or from a named checkpoint', async () => {
    await failed('dl-start');
    await t.longrun.retry('dl-start', { from: 'start' });
    expect((await t.longrun.result('dl-start')).state).toBe('completed');
    expect(labels('dl-start')).toEqual(['a', 'b', 'a', 'b', 'c']);

    await failed('dl-named');
    const phaseEnd = (await t.longrun.checkpoints('dl-named')).find((c) => c.label === 'end of phase first');
    expect(phaseEnd).toBeDefined();
    const retried = await t.longrun.retry('dl-named', { from: phaseEnd?.id as string });
    expect(retried.checkpoint?.id).toBe(phaseEnd?.id);
    expect((await t.longrun.result('dl-named')).state).toBe('completed');
    expect(labels('dl-named')).toEqual(['a', 'b', 'b', 'c']);
  });

  it('refuses to retry a task that did not fail, an unknown task or checkpoint', async () => {
    await t.longrun.start({
      v: 1,
      taskId: 'dl-fine',
      agent: 'dead-letters-test',
      phases: [
        {
          id: 'p',
          steps: [{ id: 'a', action: 'test.tally', input: { ledger: ledger('dl-fine'), label: 'a' } }],
        },
      ],
    });
    await t.longrun.result('dl-fine');
    await expect(t.longrun.retry('dl-fine')).rejects.toThrow(InvalidTransitionError);
    await expect(t.longrun.retry('dl-fine')).rejects.toThrow(/the task is completed, not failed/);
    await expect(t.longrun.retry('dl-nobody')).rejects.toThrow(UnknownTaskError);
    await failed('dl-badcheckpoint');
    await expect(t.longrun.retry('dl-badcheckpoint', { from: 'phase-99' })).rejects.toThrow(
      UnknownCheckpointError
    );
    await expect(t.longrun.retry('dl-badcheckpoint', { from: ' ' })).rejects.toThrow(/from: must be/);
  });
});
