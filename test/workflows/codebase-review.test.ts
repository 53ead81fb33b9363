import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkflowFailedError, WorkflowNotFoundError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { codebaseReviewActions } from '../../src/activities/agents/codebase-review';
import { LongrunClient } from '../../src/client';
import { ArtifactStore } from '../../src/runtime/artifact-store';
import { FailureType } from '../../src/shared/errors';
import { codebaseReviewSpec } from '../../src/shared/plans';
import { LongrunState, LongrunProgress, LongrunAgent } from '../../src/shared/search-attributes';
import type { ArtifactRef } from '../../src/shared/step-io';
import { ValidationError } from '../../src/shared/validation';
import { generateRepo } from '../support/fixture-repo';
import { inProcessWorker, startDevServerEnv, workflowBundle } from '../support/temporal';
import { waitFor } from '../support/worker-process';

const FIXTURE_ROOT = 'test/fixtures/sample-repo'; // relative: recorded histories must not hold machine paths
const HISTORY_FIXTURE = join(__dirname, '..', 'fixtures', 'histories', 'long-task-codebase-review-v4.json');
const TASK_QUEUE = 'codebase-review-test';

let env: TestWorkflowEnvironment;
let worker: Worker;
let running: Promise<void>;
let dataDir: string;
let artifacts: ArtifactStore;
let longrun: LongrunClient;

beforeAll(async () => {
  env = await startDevServerEnv();
  dataDir = mkdtempSync(join(tmpdir(), 'longrun-review-'));
  ({ worker, artifacts } = await inProcessWorker({
    connection: env.nativeConnection,
    taskQueue: TASK_QUEUE,
    actions: codebaseReviewActions,
    dir: dataDir,
  }));
  running = worker.run();
  longrun = new LongrunClient(env.client, TASK_QUEUE);
});

afterAll(async () => {
  worker?.shutdown();
  await running;
  await env?.teardown();
  rmSync(dataDir, { recursive: true, force: true });
});

function sha256Of(path: string): string {
  return createHash('sha256')
    .update(readFileSync(join(FIXTURE_ROOT, path)))
    .digest('hex');
}

describe('codebase review on a real dev server', () => {
  it('completes and writes a correct report for the fixture directory', async () => {
    const taskId = 'review-fixture';
    const started = await longrun.start(
      codebaseReviewSpec({ taskId, root: FIXTURE_ROOT, title: 'Fixture review' })
    );
    expect(started.started).toBe(true);
    const result = await longrun.result(taskId);

    expect(result.state).toBe('completed');
    expect(result.outputs.scan).toMatchObject({ files: 4, skipped: 0 });
    expect(result.outputs.analyze).toMatchObject({
      files: 4,
      lines: 44,
      blankLines: 7,
      commentLines: 8,
      codeLines: 29,
      todos: 3,
      fixmes: 1,
      refilled: 0,
    });

    const report = await artifacts.getText(result.outputs.report?.report as ArtifactRef);
    expect(report).toContain('# Fixture review');
    expect(report).toContain('| 4 | ');
    // One row per analyzed file with its real SHA-256; vendored and binary files are left out.
    for (const [path, lines, complexity] of [
      ['README.md', 3, 2],
      ['scripts/build.py', 13, 4],
      ['src/app.ts', 10, 3],
      ['src/util.ts', 18, 6],
    ] as const) {
      expect(report).toMatch(
        new RegExp(
          `\\| ${path.replace('.', '\\.')} \\| \\d+ \\| ${lines} \\| \\d+ \\| ${complexity} \\| .*\`${sha256Of(path)}\` \\|`
        )
      );
    }
    expect(report).not.toContain('vendor/lib.js');
    expect(report).not.toContain('logo.bin');
    expect(report).toMatch(/## Most complex files \(top 10\)\n\n.*\n.*\n\| 1 \| src\/util\.ts \| 6 \|/);

    // The recorded history replays against today's workflow code.
    const history = await env.client.workflow.getHandle(taskId).fetchHistory();
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, taskId);
    if (process.env.LONGRUN_RECORD_HISTORY === '1') {
      // The Temporal CLI's JSON is what operators get from `temporal workflow show --output json`.
      const json = execFileSync(process.env.LONGRUN_TEMPORAL_CLI as string, [
        'workflow',
        'show',
        '--workflow-id',
        taskId,
        '--address',
        env.address,
        '--output',
        'json',
      ]);
      writeFileSync(HISTORY_FIXTURE, json);
    }
  });

  it('shows the finished task through the progress query and search attributes', async () => {
    const taskId = 'review-fixture';
    const progress = await longrun.progress(taskId);
    expect(progress).toMatchObject({
      state: 'completed',
      percent: 100,
      stepsCompleted: 3,
      agent: 'codebase-review',
    });
    const description = await env.client.workflow.getHandle(taskId).describe();
    expect(description.typedSearchAttributes.get(LongrunState)).toBe('completed');
    expect(description.typedSearchAttributes.get(LongrunProgress)).toBe(100);
    expect(description.typedSearchAttributes.get(LongrunAgent)).toBe('codebase-review');
    const listed = [];
    for await (const w of env.client.workflow.list({
      query: `LongrunState="completed" AND WorkflowId="${taskId}"`,
    })) {
      listed.push(w.workflowId);
    }
    expect(listed).toEqual([taskId]);
  });

  it('is idempotent on the task id: starting again returns the existing task', async () => {
    const first = await env.client.workflow.getHandle('review-fixture').describe();
    const again = await longrun.start(codebaseReviewSpec({ taskId: 'review-fixture', root: FIXTURE_ROOT }));
    expect(again).toMatchObject({ taskId: 'review-fixture', runId: first.runId, started: false });
    expect(again.handle.taskId).toBe('review-fixture');
  });

  it('rejects a bad spec with the field and the rule, and starts nothing', async () => {
    const spec = { ...codebaseReviewSpec({ taskId: 'bad-spec', root: FIXTURE_ROOT }), durability: 'forever' };
    await expect(longrun.start(spec)).rejects.toThrow(ValidationError);
    await expect(longrun.start(spec)).rejects.toThrow(/spec\.durability: /);
    await expect(env.client.workflow.getHandle('bad-spec').describe()).rejects.toThrow(WorkflowNotFoundError);
  });

  it('fails a step with an unknown action at once, without retries', async () => {
    const spec = codebaseReviewSpec({ taskId: 'unknown-action', root: FIXTURE_ROOT });
    spec.phases[0]!.steps[0]!.action = 'codebase.nope';
    await longrun.start(spec);
    const failure = await longrun.result('unknown-action').catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    const cause = (failure as WorkflowFailedError).cause?.cause as
      { type?: string; message?: string } | undefined;
    expect(cause?.type).toBe(FailureType.UnknownAction);
    expect(cause?.message).toContain('unknown action "codebase.nope"');
    const progress = await longrun.progress('unknown-action');
    expect(progress.state).toBe('failed');
    expect(progress.error).toContain('codebase.nope');
  });

  it('fails a step with invalid action input naming the field, without retries', async () => {
    const spec = codebaseReviewSpec({ taskId: 'bad-input', root: FIXTURE_ROOT });
    spec.phases[0]!.steps[0]!.input = { root: FIXTURE_ROOT, maxFileBytes: -1 };
    await longrun.start(spec);
    const failure = (await longrun.result('bad-input').catch((err: unknown) => err)) as WorkflowFailedError;
    const cause = failure.cause?.cause as { type?: string; message?: string } | undefined;
    expect(cause?.type).toBe(FailureType.InvalidInput);
    expect(cause?.message).toMatch(/input\.maxFileBytes: /);
  });

  it('ends cancelled when cancelled from outside, stopping the running step', async () => {
    const repo = join(dataDir, 'cancel-repo');
    generateRepo(repo, 2000, 2500);
    const taskId = 'review-cancel';
    await longrun.start(
      codebaseReviewSpec({ taskId, root: repo, durability: 'high', heartbeatTimeoutMs: 2_000 })
    );
    const handle = env.client.workflow.getHandle(taskId);
    await waitFor('the analyze step past its first files', async () => {
      const p = await longrun.progress(taskId);
      return p.step.id === 'analyze' && (p.items?.done ?? 0) > 0 ? p : undefined;
    });
    const cancelledAt = Date.now();
    await handle.cancel(); // what `temporal workflow cancel` does
    // Temporal's cancel takes longrun's one cancel path: the workflow completes with the partial result.
    const partial = await longrun.result(taskId);
    expect(partial).toMatchObject({ state: 'cancelled', reason: 'cancel requested through Temporal' });
    expect((await handle.describe()).status.name).toBe('COMPLETED');
    expect(Date.now() - cancelledAt).toBeLessThan(5_000);
    expect((await longrun.progress(taskId)).state).toBe('cancelled');
    // The stopped step handed its cursor back: the final checkpoint holds where it stopped.
    const final = (await longrun.checkpoints(taskId)).at(-1);
    expect(final).toMatchObject({
      type: 'manual',
      stepId: 'analyze',
      label: 'final checkpoint: cancelled during step analyze',
    });
    expect((final?.cursor as { next: number }).next).toBeGreaterThan(0);
    expect((await handle.describe()).typedSearchAttributes.get(LongrunState)).toBe('cancelled');
  });
});
