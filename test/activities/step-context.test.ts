import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createStepContext, type StepContext } from '../../src/activities/step-context';
import { ArtifactStore, ArtifactCorruptError } from '../../src/runtime/artifact-store';
import type { StepHeartbeat } from '../../src/shared/step-io';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { entryKey, type BoardEntry, type LiveProgress } from '../../src/shared/progress-board';

const request = { taskId: 't', phaseId: 'p', stepId: 's', action: 'a', input: {} };
let dir: string;
let artifacts: ArtifactStore;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'longrun-ctx-'));
  artifacts = new ArtifactStore(join(dir, 'artifacts'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function recordHeartbeats(env: MockActivityEnvironment): StepHeartbeat[] {
  const beats: StepHeartbeat[] = [];
  env.on('heartbeat', (d: StepHeartbeat) => beats.push(d));
  return beats;
}

describe('StepContext.checkpointed', () => {
  it('visits every item once and hands the SDK at most one checkpoint per 100 ms under the budget, then the latest', async () => {
    const env = new MockActivityEnvironment();
    const beats = recordHeartbeats(env);
    const seen = await env.run(async () => {
      const ctx = createStepContext(request, { artifacts, workDir: dir, heartbeatEveryMs: 100 });
      const out: string[] = [];
      for await (const item of ctx.checkpointed(['a', 'b', 'c'])) out.push(item);
      expect(beats).toHaveLength(1); // the rest coalesced within the 100 ms interval
      await new Promise((r) => setTimeout(r, 150)); // ... and flushed by the timer
      return out;
    });
    expect(seen).toEqual(['a', 'b', 'c']);
    expect(beats.map((b) => b.cursor)).toEqual([null, { next: 3 }]);
    expect(beats.at(-1)).toMatchObject({ done: 3, total: 3 });
  });

  it('hands every count to the live progress board while heartbeats follow its cadence, and leaves it when done', async () => {
    const board = new Map<string, BoardEntry>();
    const removed: string[] = [];
    const live: LiveProgress = {
      update: (e) => board.set(entryKey(e), e),
      remove: (key) => {
        board.delete(key);
        removed.push(key);
      },
      cadenceMs: () => 2_000, // as a worker far over its heartbeat budget would say
    };
    const env = new MockActivityEnvironment();
    const beats = recordHeartbeats(env);
    const counts: number[] = [];
    await env.run(async () => {
      const ctx = createStepContext(request, { artifacts, workDir: dir, live });
      for (let i = 1; i <= 10; i++) {
        ctx.checkpoint({ next: i }, i, 10);
        counts.push(board.get(entryKey({ taskId: request.taskId, stepId: request.stepId }))?.done ?? -1);
        await new Promise((r) => setTimeout(r, 50));
      }
      ctx.dispose();
    });
    expect(counts).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    // 500 ms of checkpoints at a 2 s cadence: the first, then only the last at dispose.
    expect(beats.length).toBeLessThanOrEqual(2);
    expect(beats.at(-1)).toMatchObject({ cursor: { next: 10 }, done: 10 });
    expect(removed).toEqual([entryKey({ taskId: request.taskId, stepId: request.stepId })]);
    expect(board.size).toBe(0);
  });

  it('keeps heartbeating the same details while the action reports nothing, and survives a lost progress report', async () => {
    const env = new MockActivityEnvironment(); // no Temporal client: the workflow report cannot be sent
    const beats = recordHeartbeats(env);
    await env.run(async () => {
      const ctx = createStepContext(request, { artifacts, workDir: dir, progressSignalMs: 50 });
      ctx.checkpoint({ next: 7 }, 7, 10);
      await new Promise((r) => setTimeout(r, 1_300));
      ctx.dispose();
    });
    expect(beats.length).toBeGreaterThanOrEqual(2); // the checkpoint, then a keep-alive a second later
    expect(beats.every((b) => (b.cursor as { next: number }).next === 7 && b.done === 7)).toBe(true);
  });

  it('flushes the latest checkpoint at once when asked (a failing step)', async () => {
    const env = new MockActivityEnvironment();
    const beats = recordHeartbeats(env);
    await env.run(async () => {
      const ctx = createStepContext(request, { artifacts, workDir: dir });
      for await (const _item of ctx.checkpointed([1, 2])) void _item;
      ctx.flushCheckpoint();
    });
    expect(beats.at(-1)?.cursor).toEqual({ next: 2 });
  });

  it('resumes a retried attempt from its last heartbeat cursor', async () => {
    const env = new MockActivityEnvironment({
      heartbeatDetails: { cursor: { next: 2 }, done: 2, total: 4 },
      attempt: 2,
    });
    const seen = await env.run(async () => {
      const ctx = createStepContext(request, { artifacts, workDir: dir });
      expect(ctx.attempt).toBe(2);
      const out: number[] = [];
      for await (const item of ctx.checkpointed([10, 20, 30, 40])) out.push(item);
      return out;
    });
    expect(seen).toEqual([30, 40]);
  });

  it('resumes a new schedule from the cursor the workflow passes in', async () => {
    const env = new MockActivityEnvironment();
    const seen = await env.run(async () => {
      const ctx = createStepContext({ ...request, cursor: { next: 1 } }, { artifacts, workDir: dir });
      const out: number[] = [];
      for await (const item of ctx.checkpointed(asyncRange(4))) out.push(item);
      return out;
    });
    expect(seen).toEqual([1, 2, 3]);
  });

  it('stops at the next item with CancelledFailure carrying the last checkpoint when cancelled', async () => {
    const env = new MockActivityEnvironment();
    let ctx: StepContext | undefined;
    const run = env.run(async () => {
      ctx = createStepContext(request, { artifacts, workDir: dir });
      const out: number[] = [];
      for await (const item of ctx.checkpointed([1, 2, 3, 4, 5])) {
        out.push(item);
        if (item === 2) env.cancel();
      }
      return out;
    });
    const err = (await run.catch((e: unknown) => e)) as CancelledFailure;
    expect(err).toBeInstanceOf(CancelledFailure);
    expect(err.details[0]).toMatchObject({ cursor: { next: 2 }, done: 2 });
  });
});

describe('ArtifactStore', () => {
  it('stores by content hash and detects a corrupted artifact instead of using it', async () => {
    const ref = await artifacts.put('hello', { name: 'h.txt', mediaType: 'text/plain' });
    expect(ref.sha256).toBe('2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824');
    expect(await artifacts.getText(ref)).toBe('hello');
    writeFileSync(artifacts.pathOf(ref), 'hellO');
    await expect(artifacts.get(ref)).rejects.toThrow(ArtifactCorruptError);
    await expect(artifacts.get(ref)).rejects.toThrow('its content hashes to');
  });

  it('restores a corrupt or missing artifact from its backup at high durability, and reports it', async () => {
    const restored: string[] = [];
    const store = new ArtifactStore(join(dir, 'primary'), { onRestore: (_ref, why) => restored.push(why) });
    const ref = await store.withBackup(true).put('precious', { name: 'p.txt', mediaType: 'text/plain' });
    writeFileSync(store.pathOf(ref), 'tampered');
    expect(await store.getText(ref)).toBe('precious');
    expect(restored).toEqual([expect.stringContaining('its content hashes to')]);
    expect(readFileSync(store.pathOf(ref), 'utf8')).toBe('precious'); // primary repaired
    rmSync(store.pathOf(ref));
    expect(await store.getText(ref)).toBe('precious');
    expect(restored[1]).toBe('the file is missing');
  });

  it('fails when the primary and the backup are both corrupt', async () => {
    const store = new ArtifactStore(join(dir, 'both'));
    const ref = await store.withBackup(true).put('data', { name: 'd', mediaType: 'text/plain' });
    writeFileSync(store.pathOf(ref), 'x');
    writeFileSync(store.backupPathOf(ref), 'y');
    await expect(store.get(ref)).rejects.toThrow('and so does its backup');
  });

  it('writes no backup below high durability', async () => {
    const store = new ArtifactStore(join(dir, 'nobackup'));
    const ref = await store.withBackup(false).put('plain', { name: 'n', mediaType: 'text/plain' });
    expect(existsSync(store.backupPathOf(ref))).toBe(false);
  });
});

async function* asyncRange(n: number): AsyncGenerator<number> {
  for (let i = 0; i < n; i++) yield await Promise.resolve(i);
}
