/**
 * The hostile-input fuzz suite, run with a few hundred cases by `npm test` (test/fuzz) and with
 * thousands by the soak tier. For every case: a typed error naming a field and a rule, or a start
 * that then runs; nothing started by a refused spec; the worker alive and a good task completing.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { WorkflowFailedError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { loadConfig, SECRET_VARIABLES } from '../../src/runtime/config';
import { jsonIssues, ValidationError } from '../../src/shared/validation';
import { cliArgs, environment, junk, mutateSpec, pick, rng } from './fuzz';
import { recordHistory, useWorkerEnv } from './temporal';
import { testActions } from './test-actions';
import { waitFor } from './worker-process';

const ROOT = join(__dirname, '..', '..');
/** Failure types that mean a spec was started that should have been refused before it started. */
const STATIC_FAILURES = ['LongrunInvalidInput', 'LongrunUnknownAction'];

export interface FuzzCounts {
  specs: number;
  payloads: number;
  cliRuns: number;
  environments: number;
}

function baseSpec(taskId: string, ledger: string): Record<string, unknown> {
  return {
    v: 1,
    taskId,
    agent: 'fuzz',
    title: 'fuzzed spec',
    durability: 'basic',
    context: { k: 'v' },
    timeouts: { idleWarning: '5m', idlePause: '10m' },
    phases: [
      {
        id: 'p1',
        maxParallel: 2,
        steps: [
          { id: 'list', action: 'test.list', input: { count: 3 } },
          { id: 'echo', action: 'test.echo', input: { value: { a: 1 } }, weight: 2 },
        ],
      },
      {
        id: 'p2',
        steps: [
          {
            id: 'fan',
            action: 'test.tally',
            forEach: { $from: 'list.items' },
            maxParallel: 2,
            input: { ledger, label: { $item: 'label' } },
          },
          { id: 'wait', action: 'longrun.wait', input: { seconds: 1 } },
        ],
      },
    ],
  };
}

const isReference = (value: unknown): boolean =>
  typeof value === 'object' && value !== null && ('$from' in value || '$item' in value);

function inputOf(spec: Record<string, unknown>, stepId: string): Record<string, unknown> | undefined {
  const phases = (spec.phases ?? []) as { steps?: { id?: unknown; input?: Record<string, unknown> }[] }[];
  return phases.flatMap((p) => p.steps ?? []).find((s) => s.id === stepId)?.input;
}

/** The innermost `ApplicationFailure` type of a failed task, and its message. */
function failureOf(err: unknown): { type: string | undefined; message: string } {
  let current: unknown = err;
  let found: { type: string | undefined; message: string } = { type: undefined, message: String(err) };
  while (current instanceof Error) {
    if (current instanceof ApplicationFailure)
      found = { type: current.type ?? undefined, message: current.message };
    current = current.cause;
  }
  return found;
}

const describeCase = (seed: number, i: number, what: unknown) =>
  `case ${i} (FUZZ_SEED=${seed}): ${JSON.stringify(what)}`;

export function fuzzSuite(counts: FuzzCounts): void {
  const seed = Number(process.env.FUZZ_SEED ?? 20261202);
  const t = useWorkerEnv({ taskQueue: 'fuzz', actions: testActions, publishActions: true });
  // Fuzzed inputs name files (a ledger path of " ", say): the test actions write them here, not in
  // the checkout.
  const home = process.cwd();
  beforeAll(() => process.chdir(t.dir));
  afterAll(() => process.chdir(home));

  it(`refuses each of ${counts.specs} mutated specs that cannot work, before it starts; the rest run`, async () => {
    const r = rng(seed);
    const ledger = join(t.dir, 'fuzz.ledger');
    await waitFor('the worker catalog', async () =>
      (await t.longrun.actions()).length > 0 ? true : undefined
    );
    const defects: string[] = [];
    const accepted: { id: string; what: string[]; spec: Record<string, unknown> }[] = [];
    let refused = 0;
    for (let i = 0; i < counts.specs; i++) {
      const { spec, what } = mutateSpec(r, baseSpec(`fuzz-${seed}-${i}`, ledger));
      try {
        const started = await t.longrun.start(spec);
        if (started.checkedAgainst === null)
          defects.push(`${describeCase(seed, i, what)}: not checked against the catalog`);
        accepted.push({ id: started.taskId, what, spec });
      } catch (err) {
        refused++;
        if (!(err instanceof ValidationError)) {
          defects.push(`${describeCase(seed, i, what)}: threw ${String(err)} instead of a ValidationError`);
          continue;
        }
        if (err.issues.length === 0 || err.issues.some((x) => !x.path || !x.rule)) {
          defects.push(`${describeCase(seed, i, what)}: an issue without a field or rule: ${err.message}`);
        }
        const id = (spec as { taskId?: unknown }).taskId;
        if (typeof id === 'string' && /^[A-Za-z0-9][A-Za-z0-9._:-]*$/.test(id) && id.length <= 200) {
          const exists = await t.longrun.client.workflow
            .getHandle(id)
            .describe()
            .then(
              () => true,
              () => false
            );
          if (exists && !accepted.some((a) => a.id === id))
            defects.push(`${describeCase(seed, i, what)}: refused, yet ${id} exists`);
        }
      }
    }
    // Every accepted spec runs: none may fail for a reason the client could have known.
    for (const task of accepted) {
      try {
        await t.longrun.result(task.id);
      } catch (err) {
        if (!(err instanceof WorkflowFailedError)) throw err;
        const failure = failureOf(err);
        // A `$from` to a field of an upstream output is checked when the step runs: actions publish
        // input schemas, not output schemas (docs/spec.md, "References"). Everything else is static.
        // So is the type of what a reference gives (an item or output field where the action wants a string).
        const outputField = /\$from "[^"]+" has no field/.test(failure.message);
        const field = /^step (\S+)(?: item \d+)? \([^)]+\): input\.([\w$]+):/.exec(failure.message);
        const byReference =
          field !== null && isReference(inputOf(task.spec, field[1] as string)?.[field[2] as string]);
        if (
          (STATIC_FAILURES.includes(failure.type ?? '') && !byReference) ||
          (/\$from|\$item/.test(failure.message) && !outputField)
        ) {
          defects.push(`${task.id} ${JSON.stringify(task.what)}: started, then failed: ${failure.message}`);
        }
      }
    }
    const count = await t.longrun.client.workflow.count(`WorkflowType = 'longTask'`);
    console.log(
      `spec fuzz (FUZZ_SEED=${seed}): ${counts.specs} mutations, ${refused} refused, ${accepted.length} started and ran; ${count.count} tasks on the server`
    );
    expect(defects).toEqual([]);
    expect(count.count).toBe(new Set(accepted.map((a) => a.id)).size);
    expect(t.worker.getState()).toBe('RUNNING');
  });

  it(`ignores or refuses ${counts.payloads} junk signal and update payloads; the task carries on`, async () => {
    const r = rng(seed + 1);
    const ledger = join(t.dir, 'payloads.ledger');
    const id = `fuzz-payloads-${seed}`;
    const spec = baseSpec(id, ledger);
    (spec.phases as { steps: Record<string, unknown>[] }[])[0]!.steps.push({
      id: 'slow',
      action: 'test.slow',
      input: { ledger, label: 'slow', items: 300, itemMs: 10 },
    });
    await t.longrun.start(spec);
    const handle = t.longrun.client.workflow.getHandle(id);
    const signals = [
      'stepProgress',
      'requestPause',
      'requestResume',
      'requestCancel',
      'requestExtend',
      'requestCheckpoint',
    ];
    const updates = ['resume', 'extend', 'checkpoint']; // a valid pause or cancel would stop the test task
    const defects: string[] = [];
    for (let i = 0; i < counts.payloads; i++) {
      const payload =
        r() < 0.5
          ? junk(r)
          : {
              stepId: pick(r, ['slow', 'list', 'x']),
              done: junk(r),
              total: junk(r),
              rate: junk(r),
              at: junk(r),
              reason: junk(r),
              by: junk(r),
              label: junk(r),
            };
      if (jsonIssues(payload).length > 0) continue; // not JSON: the caller's own codec refuses it
      if (r() < 0.7) {
        const name = pick(r, signals);
        if (name === 'requestCancel' || name === 'requestPause') continue; // valid ones would end or stop the test task
        await handle
          .signal(name, payload)
          .catch((err: unknown) => defects.push(`signal ${name}: ${String(err)}`));
      } else {
        const name = pick(r, updates);
        await handle.executeUpdate(name, { args: [payload] }).then(
          () => undefined,
          (err: unknown) => {
            if (!(err instanceof WorkflowUpdateFailedError)) defects.push(`update ${name}: ${String(err)}`);
          }
        );
      }
    }
    const result = await t.longrun.result(id);
    const history = await handle.fetchHistory();
    const failedTasks = (history.events ?? []).filter((e) => e.workflowTaskFailedEventAttributes).length;
    console.log(
      `payload fuzz (FUZZ_SEED=${seed}): ${counts.payloads} payloads; task ${result.state}, ${failedTasks} failed workflow tasks`
    );
    expect(defects).toEqual([]);
    expect(failedTasks).toBe(0);
    expect(['completed', 'partial']).toContain(result.state);
  });

  it(`exits 2 with one line naming the field for each bad one of ${counts.cliRuns} command lines, before connecting`, async () => {
    const r = rng(seed + 2);
    const cases = Array.from({ length: counts.cliRuns }, () => cliArgs(r));
    const defects: string[] = [];
    const run = (args: string[]) =>
      new Promise<{ code: number; stderr: string }>((resolve) => {
        execFile(
          process.execPath,
          [join(ROOT, 'bin', 'longrun.js'), ...args],
          { cwd: t.dir, timeout: 30_000, env: { ...process.env, TEMPORAL_ADDRESS: '127.0.0.1:1' } },
          (error, _stdout, stderr) =>
            resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stderr })
        );
      });
    for (let i = 0; i < cases.length; i += 4) {
      const batch = cases.slice(i, i + 4);
      const results = await Promise.all(batch.map(run));
      results.forEach(({ code, stderr }, j) => {
        const args = batch[j] as string[];
        const why = `longrun ${JSON.stringify(args)} exited ${code}: ${stderr.slice(0, 300)}`;
        if (/\n\s+at /.test(stderr)) defects.push(`${why} (a stack trace)`);
        else if (code === 1 && !/cannot reach Temporal/.test(stderr)) defects.push(why);
        else if (code === 2 && !/^error:|error: /.test(stderr)) defects.push(why);
        else if (![1, 2].includes(code)) defects.push(why);
      });
    }
    console.log(`CLI fuzz (FUZZ_SEED=${seed}): ${cases.length} command lines`);
    expect(defects).toEqual([]);
  });

  it(`names the variable and its value for each bad one of ${counts.environments} environments, never a secret`, () => {
    const r = rng(seed + 3);
    const names = [
      'TEMPORAL_ADDRESS',
      'TEMPORAL_NAMESPACE',
      'TEMPORAL_TLS',
      'LONGRUN_TASK_QUEUE',
      'LONGRUN_MAX_CHECKPOINT_INTERVAL_MS',
      'LONGRUN_PROGRESS_REPORT_MS',
      'LONGRUN_HEARTBEATS_PER_SECOND',
      'LONGRUN_LIVE_PROGRESS_MS',
      'LONGRUN_SHUTDOWN_GRACE_MS',
      'LONGRUN_DEV_PORT',
      'LONGRUN_BREAKER_THRESHOLD',
      'LONGRUN_LLM_BASE_URL',
      'LONGRUN_LLM_MODEL',
      'LONGRUN_LLM_TIMEOUT_MS',
      'LONGRUN_HEALTH_PORT',
      'LONGRUN_WEBHOOK_URLS',
    ];
    const defects: string[] = [];
    let refused = 0;
    for (let i = 0; i < counts.environments; i++) {
      const env = {
        ...environment(r, names),
        ...Object.fromEntries(SECRET_VARIABLES.map((n) => [n, `SECRET-${n}-marker`])),
      };
      try {
        loadConfig(env, '/w');
      } catch (err) {
        refused++;
        const message = (err as Error).message;
        if (!(err instanceof ValidationError)) defects.push(`${JSON.stringify(env)}: ${String(err)}`);
        else if (!err.issues.every((x) => /^[A-Z_]+(\[\d+\])?=/.test(x.path)))
          defects.push(`no variable=value in: ${message}`);
        if (/SECRET-.*-marker/.test(message)) defects.push(`a secret in: ${message}`);
      }
    }
    console.log(
      `environment fuzz (FUZZ_SEED=${seed}): ${counts.environments} environments, ${refused} refused`
    );
    expect(defects).toEqual([]);
  });

  it('still completes a good task afterwards', async () => {
    const started = await t.longrun.start(baseSpec(`fuzz-good-${seed}`, join(t.dir, 'good.ledger')));
    expect(started.started).toBe(true);
    await waitFor(
      'the good task',
      async () => ((await t.longrun.status(started.taskId)).execution === 'COMPLETED' ? true : undefined),
      60_000
    );
    // The catalog's runs: the first took the worker's signal and continued as new; the current one
    // started with the catalogs as its input.
    for await (const run of t.longrun.client.workflow.list({
      query: `WorkflowId = 'longrun-actions-fuzz'`,
    })) {
      const file =
        run.status.name === 'CONTINUED_AS_NEW'
          ? 'action-catalog-published-v1.json'
          : 'action-catalog-current-v1.json';
      recordHistory(t.env, run.workflowId, file, run.runId);
    }
  });
}
