/**
 * Commands an action runs in a child process, under its memory and CPU-time caps: real processes
 * that allocate memory and burn CPU, killed with their whole process group when they pass a cap,
 * and reported as resource failures (temp folder emptied, retried after the resource delay).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { z } from 'zod';
import { actionRegistry, createActivities, defineAction, ResourceError } from '../../src/activities';
import { execLimited } from '../../src/activities/child-process';
import { ArtifactStore } from '../../src/runtime/artifact-store';
import { registerSecrets } from '../../src/runtime/secrets';
import { processRunning } from '../support/worker-process';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'longrun-child-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const node = process.execPath;
/** Grows its resident memory by 16 MB every 50 ms (Buffers filled, so the pages are real). */
const GROW = 'const a = []; setInterval(() => a.push(Buffer.alloc(16 << 20, 1)), 50)';

describe('execLimited', () => {
  it('runs a command and reports its output, exit code, peak memory and CPU time', async () => {
    // Runs for about half a second (the caps are sampled every 100 ms), holding 32 MB and using CPU.
    const script =
      'const b = Buffer.alloc(32 << 20, 1); let x = 0; const end = Date.now() + 500;' +
      ' while (Date.now() < end) x += b[x % b.length]; console.log("done")';
    const r = await execLimited(node, ['-e', script], { memoryMb: 512, cpuSeconds: 30 });
    expect(r).toMatchObject({ code: 0, signal: null, stdout: 'done\n', limitsEnforced: true });
    expect(r.peakRssBytes).toBeGreaterThan(10 * 1024 * 1024);
    expect(r.cpuMs).toBeGreaterThan(0);
  });

  it('kills the whole process group past the memory cap, as a resource failure', async () => {
    const pidFile = join(dir, 'grandchild.pid');
    // A shell that starts the hog as its own child: the cap covers the group, and the kill stops both.
    const started = Date.now();
    const err = await execLimited('sh', ['-c', `${node} -e '${GROW}' & echo $! > ${pidFile}; wait`], {
      memoryMb: 96,
    }).then(
      () => undefined,
      (e: unknown) => e
    );
    expect(err).toBeInstanceOf(ResourceError);
    expect((err as Error).message).toMatch(/held \d+ MB, over its memory cap of 96 MB: killed$/);
    expect(Date.now() - started).toBeLessThan(5_000);
    const grandchild = Number(readFileSync(pidFile, 'utf8'));
    await new Promise((r) => setTimeout(r, 200));
    expect(processRunning(grandchild)).toBe(false);
  });

  it('kills a command past its CPU-time cap', async () => {
    const err = await execLimited(node, ['-e', 'for (;;) {}'], { cpuSeconds: 1 }).then(
      () => undefined,
      (e: unknown) => e
    );
    expect(err).toBeInstanceOf(ResourceError);
    expect((err as Error).message).toMatch(/used 1\.\d s of CPU, over its cap of 1 s: killed$/);
  });

  it('gives the command no secret of the worker', async () => {
    registerSecrets(['sk-child-secret-marker']);
    process.env.LONGRUN_LLM_API_KEY = 'sk-child-secret-marker';
    try {
      const r = await execLimited('sh', ['-c', 'env'], { env: { MINE: 'yes' } });
      expect(r.stdout).toContain('MINE=yes');
      expect(r.stdout).not.toContain('sk-child-secret-marker');
    } finally {
      delete process.env.LONGRUN_LLM_API_KEY;
    }
  });
});

describe('an action with limits', () => {
  const hog = defineAction({
    name: 'test.child-hog',
    description: 'runs a command that outgrows the memory cap',
    input: z.object({}),
    limits: { memoryMb: 96 },
    async run(ctx) {
      writeFileSync(join(ctx.tempDir, 'scratch.bin'), 'partial');
      await ctx.exec(node, ['-e', GROW]);
      return {};
    },
  });

  it('fails its step as a resource failure, with the temp folder emptied and a retry delay', async () => {
    const activities = createActivities({
      actions: actionRegistry([hog]),
      artifacts: new ArtifactStore(join(dir, 'artifacts')),
      workRoot: join(dir, 'work'),
      resourceRetryMs: 5_000,
    });
    const err: unknown = await new MockActivityEnvironment()
      .run(() =>
        activities.runStep({ taskId: 'task', phaseId: 'p', stepId: 'hog', action: hog.name, input: {} })
      )
      .then(
        () => undefined,
        (e: unknown) => e
      );
    expect(err).toBeInstanceOf(ApplicationFailure);
    const f = err as ApplicationFailure;
    expect(f.type).toBe('LongrunResource');
    expect(f.nextRetryDelay).toBe(5_000);
    expect(f.message).toMatch(
      /^step hog \(resource\): ".+" held \d+ MB, over its memory cap of 96 MB: killed$/
    );
    expect(existsSync(join(dir, 'work', 'task', 'hog', 'tmp'))).toBe(false);
  });
});
