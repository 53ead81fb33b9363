/**
 * The built `longrun` binary against a real dev server, one command after another on real tasks: a
 * worker runs in this process (with the slow test action), the CLI in child processes.
 */
import { execFile, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { temporal } from '@temporalio/proto';
import { LongrunClient, type TaskSummary } from '../../src/client';
import { EXIT, signalExitCode } from '../../src/runtime/exit-codes';
import type { TaskProgress } from '../../src/shared/progress';
import { useWorkerEnv } from '../support/temporal';
import { testActions } from '../support/test-actions';
import { waitFor } from '../support/worker-process';

const ROOT = join(__dirname, '..', '..');
const TASK_QUEUE = 'cli-test';
const t = useWorkerEnv({ taskQueue: TASK_QUEUE, actions: testActions, publishActions: true });

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI (asynchronously: the worker in this process keeps working meanwhile). */
function longrun(...args: string[]): Promise<Run> {
  return longrunAt(t.env.address, ...args);
}

/** The CLI against `address` (an unreachable one shows what is checked before connecting). */
function longrunAt(address: string, ...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(ROOT, 'bin', 'longrun.js'), ...args],
      {
        cwd: t.dir,
        timeout: 90_000,
        env: { ...process.env, TEMPORAL_ADDRESS: address, LONGRUN_TASK_QUEUE: TASK_QUEUE },
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      }
    );
  });
}

function specFile(name: string, spec: unknown): string {
  const path = join(t.dir, `${name}.json`);
  writeFileSync(path, JSON.stringify(spec));
  return path;
}

function slowTask(taskId: string, items: number, itemMs: number) {
  const ledger = join(t.dir, `${taskId}.ledger`);
  return {
    v: 1,
    taskId,
    agent: 'cli-test',
    title: `CLI ${taskId}`,
    phases: [
      {
        id: 'work',
        steps: [
          { id: 'a', action: 'test.tally', input: { ledger, label: 'a' } },
          { id: 'b', action: 'test.slow', input: { ledger, label: 'b', items, itemMs }, weight: 10 },
        ],
      },
    ],
  };
}

describe('longrun CLI', () => {
  it('starts, lists, shows, pauses, checkpoints, resumes, logs and watches a task', async () => {
    const spec = specFile('steer', slowTask('cli-steer', 600, 20));
    const started = await longrun('start', spec);
    expect(started).toMatchObject({ code: 0, stdout: expect.stringMatching(/^started: cli-steer \(run /) });
    expect((await longrun('start', spec)).stdout).toMatch(/^already exists: cli-steer/);

    await waitFor('items', async () => {
      const status = await longrun('status', 'cli-steer', '--json');
      const progress = (JSON.parse(status.stdout) as { progress: TaskProgress | null }).progress;
      return (progress?.items?.done ?? 0) >= 10 || undefined;
    });
    const status = await longrun('status', 'cli-steer');
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(
      /^CLI cli-steer \(cli-steer, cli-test\): executing, Temporal status RUNNING/
    );
    expect(status.stdout).toMatch(
      /[█░]{30} \d+\.\d% \| executing \| phase 1\/1 work \| step 2\/2 b \| \d+\/600 items/
    );
    expect(status.stdout).toContain('recent:');
    // An unlabelled task is `long`: its phases have 2 hours each.
    expect(status.stdout).toMatch(/\nphase time \d+m?s of its 2h 00m limit\n/);
    expect(status.stdout).toMatch(/, deadline \d{4}-\d\d-\d\dT/);

    const paused = await longrun('pause', 'cli-steer', '--reason', 'lunch');
    expect(paused).toMatchObject({
      code: 0,
      // A paused step keeps its item count: where it stopped.
      stdout: expect.stringMatching(/^cli-steer: paused at item \d+\/600, step 2\/2 b/),
    });
    const again = await longrun('pause', 'cli-steer');
    expect(again.code).toBe(4);
    expect(again.stderr).toBe('error: task "cli-steer" rejected pause: the task is already paused\n');

    const listed = await longrun('list', '--state', 'paused', '--agent', 'cli-test', '--json');
    expect((JSON.parse(listed.stdout) as TaskSummary[]).map((t) => t.taskId)).toEqual(['cli-steer']);
    const table = await longrun('list', '--agent', 'cli-test');
    expect(table.stdout).toMatch(/^TASK\s+STATE\s+PROGRESS\s+AGENT/);
    expect(table.stdout).toMatch(/cli-steer\s+paused\s+\d+%\s+cli-test\s+work\s+standard\s+RUNNING/);

    const checkpoint = await longrun('checkpoint', 'cli-steer', '--label', 'before resuming');
    expect(checkpoint.stdout).toMatch(/^recorded manual-\d+ at step 1: before resuming/);
    const records = JSON.parse((await longrun('checkpoints', 'cli-steer', '--json')).stdout) as {
      label: string;
    }[];
    expect(records.map((r) => r.label)).toContain('before resuming');

    const extend = await longrun('extend', 'cli-steer', '--until', '2001-01-01T00:00:00Z');
    expect(extend.code).toBe(4);
    expect(extend.stderr).toContain('until: must be later than the current deadline');

    const resumed = await longrun('resume', 'cli-steer');
    expect(resumed).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/^cli-steer: (resuming|executing)/),
    });
    expect((await longrun('resume', 'cli-steer')).code).toBe(4);

    const watch = await longrun('watch', 'cli-steer', '--interval', '250');
    expect(watch.code).toBe(0);
    const lines = watch.stdout.trim().split('\n');
    expect(lines.length).toBeGreaterThan(2);
    expect(lines[lines.length - 1]).toBe('cli-steer ended: completed (Temporal status COMPLETED)');
    expect(lines[lines.length - 2]).toMatch(/^█{30} 100\.0% \| completed/);

    const logs = await longrun('logs', 'cli-steer');
    expect(logs.stdout).toMatch(/\[control\] pause requested: lunch/);
    expect(logs.stdout).toMatch(/\[control\] paused at step b \(cursor \{"next":\d+\}\)/);
    expect(logs.stdout).toMatch(/\[checkpoint\] manual-\d+: before resuming/);
    expect(logs.stdout).toMatch(/\[step\] step 2\/2 b \(test.slow\) resumed from cursor/);
    expect(logs.stdout).toMatch(/\[info\] task completed/);

    const result = await longrun('result', 'cli-steer');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ state: 'completed', stepsCompleted: 2 });

    // Roll back to the manual checkpoint recorded while paused: step b runs again from its cursor.
    const manual = (
      JSON.parse((await longrun('checkpoints', 'cli-steer', '--json')).stdout) as {
        id: string;
        label: string;
      }[]
    ).find((r) => r.label === 'before resuming');
    const unknownCheckpoint = await longrun('rollback', 'cli-steer', 'manual-999');
    expect(unknownCheckpoint.code).toBe(3);
    expect(unknownCheckpoint.stderr).toContain('task "cli-steer" has no checkpoint "manual-999"; it has: ');
    const rollback = await longrun('rollback', 'cli-steer', manual?.id as string);
    expect(rollback.code).toBe(0);
    expect(rollback.stdout).toMatch(
      new RegExp(`^rolled cli-steer back to ${manual?.id} \\(new run [^)]+\\); steps to run again: b`)
    );
    // The checkpoint was recorded while the task was paused, and the later resume is not reapplied:
    // the task is paused again at that point.
    await waitFor('paused after the rollback', async () => {
      const status = await longrun('status', 'cli-steer', '--json');
      return (
        (JSON.parse(status.stdout) as { progress: TaskProgress | null }).progress?.state === 'paused' ||
        undefined
      );
    });
    expect((await longrun('resume', 'cli-steer')).code).toBe(0);
    const rerun = await longrun('result', 'cli-steer');
    expect(JSON.parse(rerun.stdout)).toMatchObject({ state: 'completed', stepsCompleted: 2 });
  });

  it('answers approvals (approve, reject) and raises a model budget (extend --calls), refusing what does not apply', async () => {
    const ledger = join(t.dir, 'cli-approve.ledger');
    const spec = specFile('approve', {
      v: 1,
      taskId: 'cli-approve',
      agent: 'cli-test',
      budget: { calls: 4 },
      phases: [
        {
          id: 'p',
          steps: [
            { id: 'go', action: 'longrun.approval', input: { title: 'Start the work?' } },
            { id: 'ship', action: 'longrun.approval', input: { title: 'Ship it?', onReject: 'continue' } },
            { id: 'end', action: 'test.tally', input: { ledger, label: 'end' } },
          ],
        },
      ],
    });
    expect((await longrun('start', spec)).code).toBe(0);
    const pending = (title: string) =>
      waitFor(`approval "${title}"`, async () => {
        const status = await longrun('status', 'cli-approve');
        return status.stdout.includes(`approval needed (step`) && status.stdout.includes(title)
          ? status.stdout
          : undefined;
      });
    expect(await pending('Start the work?')).toContain(
      'approval needed (step go): Start the work?; rejected by default at '
    );

    // The budget: raised; a dimension the task has no budget for, and a bad number, refused.
    const raised = await longrun('extend', 'cli-approve', '--calls', '10');
    expect(raised).toMatchObject({
      code: 0,
      stdout: expect.stringContaining(', calls budget 0 model calls of 10 model calls'),
    });
    const noTokens = await longrun('extend', 'cli-approve', '--tokens', '1000');
    expect(noTokens.code).toBe(4);
    expect(noTokens.stderr).toContain('no tokens budget to raise');
    const badCost = await longrun('extend', 'cli-approve', '--cost', 'lots');
    expect(badCost.code).toBe(2);
    expect(badCost.stderr).toMatch(/budget\.costUsd/);

    const approved = await longrun('approve', 'cli-approve', '--note', 'looks right', '--by', 'alice');
    expect(approved).toMatchObject({
      code: 0,
      stdout: 'cli-approve: approval approval (step go) approved by alice\n',
    });
    await pending('Ship it?');
    const rejected = await longrun('reject', 'cli-approve', '--by', 'bob', '--json');
    expect(JSON.parse(rejected.stdout)).toMatchObject({ stepId: 'ship', decision: 'rejected', by: 'bob' });
    const result = JSON.parse((await longrun('result', 'cli-approve')).stdout) as {
      state: string;
      outputs: Record<string, Record<string, unknown>>;
    };
    expect(result.state).toBe('completed');
    expect(result.outputs.ship).toMatchObject({ approved: false });
    expect(readFileSync(ledger, 'utf8')).toContain('end');
    // Nothing is pending any more: the answer is refused, naming why.
    const late = await longrun('approve', 'cli-approve');
    expect(late.code).not.toBe(0);
    expect(late.stderr).toMatch(/^error: /);
  });

  it('cancels with a reason: result gives the partial results, watch and result exit 6', async () => {
    await longrun('start', specFile('cancel', slowTask('cli-cancel', 5_000, 10)));
    await waitFor('running step b', async () => {
      const status = await longrun('status', 'cli-cancel', '--json');
      return (JSON.parse(status.stdout) as { progress: TaskProgress | null }).progress?.items
        ? true
        : undefined;
    });
    const cancel = await longrun('cancel', 'cli-cancel', '--reason', 'wrong input');
    expect(cancel).toMatchObject({ code: 0, stdout: expect.stringMatching(/^cli-cancel: cancelled/) });
    const result = await longrun('result', 'cli-cancel');
    expect(result.code).toBe(6);
    expect(JSON.parse(result.stdout)).toMatchObject({
      state: 'cancelled',
      reason: 'wrong input',
      stepsCompleted: 1,
    });
    const watch = await longrun('watch', 'cli-cancel', '--json');
    expect(watch.code).toBe(6);
    expect((JSON.parse(watch.stdout.trim().split('\n').pop() as string) as TaskProgress).state).toBe(
      'cancelled'
    );
  });

  it('exits 7 from watch and from result for a task that stopped at its time limit with partial results', async () => {
    const spec = specFile('partial', { ...slowTask('cli-partial', 2_000, 20), timeouts: { task: '3s' } });
    expect((await longrun('start', spec)).code).toBe(0);
    const watch = await longrun('watch', 'cli-partial', '--interval', '200');
    expect(watch.code).toBe(7);
    expect(watch.stdout).toMatch(/cli-partial ended: partial/);
    expect((await longrun('result', 'cli-partial')).code).toBe(7);
  });

  it('draws a live progress bar on a terminal (watch under a pseudo-terminal)', async () => {
    await longrun('start', specFile('tty', slowTask('cli-tty', 100, 20)));
    // `script` (util-linux) gives the CLI a pseudo-terminal, so cli-progress redraws one line in place.
    const command = `${JSON.stringify(process.execPath)} ${JSON.stringify(join(ROOT, 'bin', 'longrun.js'))} watch cli-tty --interval 200`;
    const run = await new Promise<Run>((resolve) => {
      execFile(
        'script',
        ['-qfec', command, '/dev/null'],
        {
          cwd: t.dir,
          timeout: 90_000,
          env: { ...process.env, TEMPORAL_ADDRESS: t.env.address, LONGRUN_TASK_QUEUE: TASK_QUEUE },
        },
        (error, stdout, stderr) => resolve({ code: error ? 1 : 0, stdout, stderr })
      );
    });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('\x1b['); // cursor control: the bar is redrawn, not printed line by line
    expect(run.stdout).toMatch(/█{30} 100\.0% \| completed/);
    expect(run.stdout).toContain('cli-tty ended: completed (Temporal status COMPLETED)');
  });

  it('names the bad field, the unknown id and the refused request, with distinct exit codes', async () => {
    const bad = await longrun('start', specFile('bad', { v: 1, taskId: 'bad task', phases: [] }));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error: invalid task spec: spec.taskId: /);
    expect(bad.stderr).toMatch(/spec.agent: /);

    const unknown = await longrun('status', 'no-such-task');
    expect(unknown).toMatchObject({
      code: 3,
      stderr: 'error: unknown task "no-such-task": no task with this id exists in the namespace\n',
    });
    expect((await longrun('pause', 'no-such-task')).code).toBe(3);
    expect((await longrun('logs', 'no-such-task')).code).toBe(3);

    const badState = await longrun('list', '--state', 'sleeping');
    expect(badState.code).toBe(2);
    expect(badState.stderr).toContain("argument 'sleeping' is invalid");
    const badDuration = await longrun('extend', 'cli-steer', '--by', 'soon');
    expect(badDuration.code).toBe(2);
    expect(badDuration.stderr).toBe(
      'error: invalid extend request: by: must be a duration like 90s, 15m, 2h, 1d or 1h30m (got "soon")\n'
    );
    const badInterval = await longrun('watch', 'cli-steer', '--interval', '-1');
    expect(badInterval.code).toBe(2);
    expect(badInterval.stderr).toContain('--interval: must be a positive whole number');
    const finished = await longrun('pause', 'cli-steer');
    expect(finished.code).toBe(4);
    expect(finished.stderr).toContain('the task is completed');
  });

  it('checks arguments and specs before connecting: usage errors exit 2 even with no server', async () => {
    const down = '127.0.0.1:1';
    const empty = await longrunAt(down, 'status', '');
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/^error: invalid arguments: <taskId>: .* \(got ""\)\n$/);
    const badSpec = await longrunAt(down, 'start', specFile('bad-down', { v: 1, taskId: 'x', phases: [] }));
    expect(badSpec.code).toBe(2);
    expect(badSpec.stderr).toMatch(/invalid task spec: spec.agent: /);
    const noBy = await longrunAt(down, 'extend', 'some-task');
    expect(noBy.code).toBe(2);
    expect(noBy.stderr).toMatch(/^error: invalid extend request: /);
    expect((await longrunAt(down, 'checkpoint', 'some-task', '--label', '')).code).toBe(2);
    expect((await longrunAt(down, 'rollback', 'some-task', 'bad id')).code).toBe(2);
    const good = await longrunAt(down, 'status', 'some-task');
    expect(good.code).toBe(1); // a good request, and no server: that is a failure, not a usage error
    expect(good.stderr).toMatch(/cannot reach Temporal at 127.0.0.1:1/);
  });

  it('refuses a spec the workers would refuse, names the worker version, and prints a stable --json', async () => {
    const actions = await longrun('actions');
    expect(actions.code).toBe(0);
    expect(actions.stdout).toMatch(/^worker version \d+\.\d+\.\d+\+[0-9a-f]{10} \(test-worker, /);
    expect(actions.stdout).toContain('test.slow');
    const catalogs = JSON.parse((await longrun('actions', '--json')).stdout) as { workerVersion: string }[];
    const version = catalogs[0]?.workerVersion as string;

    const typo = slowTask('cli-typo', 3, 1);
    typo.phases[0]!.steps[1]!.action = 'test.slwo';
    const refused = await longrun('start', specFile('typo', typo));
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(
      `spec.phases[0].steps[1].action: must be an action the workers run: "test.slwo" is unknown to worker version ${version}`
    );
    const badInput = slowTask('cli-bad-input', 3, 1);
    delete (badInput.phases[0]!.steps[1]!.input as Record<string, unknown>).items;
    const refusedInput = await longrun('start', specFile('bad-input', badInput));
    expect(refusedInput.code).toBe(2);
    expect(refusedInput.stderr).toContain(
      'spec.phases[0].steps[1].input.items: Invalid input: expected number'
    );
    for (const id of ['cli-typo', 'cli-bad-input']) expect((await longrun('status', id)).code).toBe(3); // nothing started

    const ok = await longrun('start', specFile('json-shape', slowTask('cli-json', 3, 1)), '--json');
    expect(ok.code).toBe(0);
    const printed = JSON.parse(ok.stdout) as Record<string, unknown>;
    expect(Object.keys(printed).sort()).toEqual(['checkedAgainst', 'runId', 'started', 'taskId']);
    expect(printed).toMatchObject({
      taskId: 'cli-json',
      started: true,
      checkedAgainst: { workerVersion: version },
    });
    expect(ok.stdout.length).toBeLessThan(400);
  });

  it('exits 5 from watch and from result for a terminated task', async () => {
    await longrun('start', specFile('terminated', slowTask('cli-terminated', 5_000, 10)));
    await waitFor('running step b', async () => {
      const status = await longrun('status', 'cli-terminated', '--json');
      return (JSON.parse(status.stdout) as { progress: TaskProgress | null }).progress?.items
        ? true
        : undefined;
    });
    await t.env.client.workflow.getHandle('cli-terminated').terminate('operator stopped it');
    const watch = await longrun('watch', 'cli-terminated');
    expect(watch.code).toBe(EXIT.taskFailed);
    expect(watch.stdout).toMatch(/\ncli-terminated ended: \w+ \(Temporal status TERMINATED\)\n$/);
    const result = await longrun('result', 'cli-terminated');
    expect(result).toMatchObject({ code: EXIT.taskFailed, stdout: '' });
    expect(result.stderr).toBe('error: the task failed: operator stopped it\n');
  });

  it('exits 6 from watch and from result for a task cancelled through Temporal', async () => {
    await longrun('start', specFile('temporal-cancel', slowTask('cli-temporal-cancel', 5_000, 10)));
    await waitFor('running step b', async () => {
      const status = await longrun('status', 'cli-temporal-cancel', '--json');
      return (JSON.parse(status.stdout) as { progress: TaskProgress | null }).progress?.items
        ? true
        : undefined;
    });
    await t.env.client.workflow.getHandle('cli-temporal-cancel').cancel();
    const watch = await longrun('watch', 'cli-temporal-cancel');
    const result = await longrun('result', 'cli-temporal-cancel');
    // Engine v2 ends it as `longrun cancel` does: completed, in state cancelled, with partial results.
    expect(watch.code).toBe(EXIT.taskCancelled);
    expect(watch.stdout).toMatch(/\ncli-temporal-cancel ended: cancelled \(Temporal status COMPLETED\)\n$/);
    expect(result.code).toBe(EXIT.taskCancelled);
    expect(JSON.parse(result.stdout)).toMatchObject({
      state: 'cancelled',
      reason: 'cancel requested through Temporal',
      stepsCompleted: 1,
    });
  });

  it('exits 2 from longrun worker with one line naming the variable, as the worker entry point does', async () => {
    const worker = await longrunAt('127.0.0.1:1', 'worker');
    expect(worker.code).toBe(EXIT.badInput);
    expect(worker.stderr).toBe(
      'longrun worker: cannot connect to Temporal at TEMPORAL_ADDRESS="127.0.0.1:1": is the server running and reachable? (Connection refused)\n'
    );
  });

  it('exits 128 + N from longrun worker on a second signal N while a step does not stop', async () => {
    // An action that ignores its stop signal keeps the worker waiting for its grace time.
    const actions = join(t.dir, 'hold-actions.cjs');
    writeFileSync(
      actions,
      `const { defineAction } = require(${JSON.stringify(join(ROOT, 'dist', 'index.js'))});
       const { z } = require(${JSON.stringify(require.resolve('zod'))});
       exports.hold = defineAction({
         name: 'test.hold',
         description: 'holds its worker for two minutes, deaf to stop requests',
         input: z.strictObject({}),
         run: () => new Promise((resolve) => setTimeout(() => resolve({}), 120_000)),
       });`
    );
    const queue = 'cli-signal';
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'longrun.js'), 'worker', '--actions', actions], {
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: t.env.address,
        LONGRUN_TASK_QUEUE: queue,
        LONGRUN_DATA_DIR: join(t.dir, 'signal-data'),
        LONGRUN_SHUTDOWN_GRACE_MS: '60000',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await waitFor('the worker polling', () =>
        output.includes(`task queue "${queue}"`) ? true : undefined
      );
      const client = new LongrunClient(t.env.client, queue);
      const spec = {
        v: 1,
        taskId: 'cli-signal',
        agent: 'cli-test',
        phases: [{ id: 'p', steps: [{ id: 'hold', action: 'test.hold', input: {} }] }],
      };
      await client.start(spec);
      const STARTED = temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED;
      await waitFor('the step running on the worker', async () => {
        const description = await t.env.client.workflow.getHandle('cli-signal').describe();
        return description.raw.pendingActivities?.[0]?.state === STARTED ? true : undefined;
      });
      child.kill('SIGTERM');
      await waitFor('the worker stopping', () =>
        output.includes('SIGTERM, stopping: 1 step') ? true : undefined
      );
      child.kill('SIGTERM');
      expect(await exited).toBe(signalExitCode('SIGTERM'));
      expect(signalExitCode('SIGTERM')).toBe(143);
      expect(output).toContain('SIGTERM again: exiting now');
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await t.env.client.workflow
        .getHandle('cli-signal')
        .terminate('test over')
        .catch(() => undefined);
    }
  });

  it('lists a failed task as a dead letter and retries it from its recovery checkpoint', async () => {
    const ledger = join(t.dir, 'cli-dead.ledger');
    const spec = {
      v: 1,
      taskId: 'cli-dead',
      agent: 'cli-test',
      durability: 'basic',
      phases: [
        {
          id: 'p',
          steps: [
            { id: 'a', action: 'test.tally', input: { ledger, label: 'a' } },
            {
              id: 'b',
              action: 'test.flaky',
              input: {
                ledger,
                label: 'b',
                counter: join(t.dir, 'cli-dead.count'),
                failures: 1,
                kind: 'permanent',
              },
            },
          ],
        },
      ],
    };
    await longrun('start', specFile('dead', spec));
    const result = await longrun('result', 'cli-dead');
    expect(result.code).toBe(5);
    expect(result.stderr).toBe('error: the task failed: permanent failure 1 of 1\n');
    const watch = await longrun('watch', 'cli-dead');
    expect(watch.code).toBe(5); // watch and result agree
    expect(watch.stdout).toMatch(/\ncli-dead ended: failed \(Temporal status FAILED\)\n$/);
    const failed = await longrun('failed');
    expect(failed.code).toBe(0);
    expect(failed.stdout).toMatch(
      /^cli-dead {2}failed \S+ {2}agent cli-test\n {2}step b failed: permanent failure 1 of 1/
    );
    expect(failed.stdout).toContain('last failure: step b, permanent, attempt 1, decision fail');
    expect(failed.stdout).toMatch(
      /retry: longrun retry cli-dead {3}\(from recovery-\d+: retry point: step b failed\)/
    );
    const json = JSON.parse((await longrun('failed', '--json')).stdout) as { taskId: string }[];
    expect(json.map((f) => f.taskId)).toContain('cli-dead');

    const retried = await longrun('retry', 'cli-dead');
    expect(retried).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/^retrying cli-dead from checkpoint recovery-\d+ /),
    });
    expect((await longrun('result', 'cli-dead')).code).toBe(0);
    expect(
      readFileSync(ledger, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => l.replace(/@\d+$/, ''))
    ).toEqual(['a', 'b', 'b']);
    expect((await longrun('failed')).stdout).not.toContain('cli-dead');
    const again = await longrun('retry', 'cli-dead');
    expect(again.code).toBe(4);
    expect(again.stderr).toContain('the task is completed, not failed');
  });
});
