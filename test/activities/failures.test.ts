/**
 * How runStep turns what an action throws into the failure Temporal's retry policy acts on.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { z } from 'zod';
import {
  actionRegistry,
  createActivities,
  CriticalError,
  defineAction,
  PermanentError,
  TransientError,
} from '../../src/activities';
import { ArtifactStore } from '../../src/runtime/artifact-store';
import { RESOURCE_RETRY_DELAY_MS } from '../../src/shared/failures';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'longrun-failures-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const throwing = (name: string, make: () => unknown) =>
  defineAction({
    name,
    description: 'throws',
    input: z.object({}),
    async run(ctx) {
      writeFileSync(join(ctx.tempDir, 'partial.bin'), 'x');
      await Promise.resolve();
      throw make();
    },
  });

const actions = [
  throwing('t.ratelimit', () => new TransientError('429 from the LLM', { retryAfterMs: 7_000 })),
  throwing('t.reset', () => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })),
  throwing('t.disk', () =>
    Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' })
  ),
  throwing('t.corrupt', () => new CriticalError('index corrupt')),
  throwing('t.bug', () => new TypeError("Cannot read properties of undefined (reading 'x')")),
  throwing('t.refused', () => new PermanentError('the repository is archived')),
  throwing('t.cancel', () => new CancelledFailure('stopped')),
];

async function failureOf(action: string, attempt = 1): Promise<ApplicationFailure | CancelledFailure> {
  const activities = createActivities({
    actions: actionRegistry(actions),
    artifacts: new ArtifactStore(join(dir, 'artifacts')),
    workRoot: join(dir, 'work'),
  });
  const env = new MockActivityEnvironment({ attempt });
  const err: unknown = await env
    .run(() => activities.runStep({ taskId: 'task', phaseId: 'p', stepId: action, action, input: {} }))
    .then(
      () => undefined,
      (e: unknown) => e
    );
  if (!(err instanceof ApplicationFailure || err instanceof CancelledFailure))
    throw new Error(`unexpected ${String(err)}`);
  return err;
}

describe('runStep failure classification', () => {
  it('retries a transient failure after the Retry-After the action gave', async () => {
    const f = (await failureOf('t.ratelimit', 2)) as ApplicationFailure;
    expect(f.type).toBe('LongrunTransient');
    expect(f.nonRetryable).toBe(false);
    expect(f.nextRetryDelay).toBe(7_000);
    expect(f.message).toBe('step t.ratelimit (transient): 429 from the LLM');
    expect(f.details?.[0]).toEqual({ kind: 'transient', attempt: 2, retryAfterMs: 7_000 });
  });

  it('classifies untyped errors by their code: a connection reset is transient, with the policy backoff', async () => {
    const f = (await failureOf('t.reset')) as ApplicationFailure;
    expect(f.type).toBe('LongrunTransient');
    expect(f.nextRetryDelay).toBeUndefined();
  });

  it('clears the step temp folder on a resource failure and waits a minute', async () => {
    const tempDir = join(dir, 'work', 'task', 't.disk', 'tmp');
    const f = (await failureOf('t.disk')) as ApplicationFailure;
    expect(f.type).toBe('LongrunResource');
    expect(f.nextRetryDelay).toBe(RESOURCE_RETRY_DELAY_MS);
    expect(existsSync(join(tempDir, 'partial.bin'))).toBe(false);
    mkdirSync(tempDir, { recursive: true }); // the next attempt gets a fresh one
  });

  it('keeps critical failures retryable, and stops permanent ones at once', async () => {
    expect(await failureOf('t.corrupt')).toMatchObject({ type: 'LongrunCritical', nonRetryable: false });
    expect(await failureOf('t.bug')).toMatchObject({ type: 'LongrunPermanent', nonRetryable: true });
    expect(await failureOf('t.refused')).toMatchObject({
      type: 'LongrunPermanent',
      nonRetryable: true,
      message: 'step t.refused (permanent): the repository is archived',
    });
  });

  it('lets a cancellation through untouched', async () => {
    expect(await failureOf('t.cancel')).toBeInstanceOf(CancelledFailure);
  });
});
