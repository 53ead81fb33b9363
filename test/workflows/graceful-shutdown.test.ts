import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeArrayFromPayloads } from '@temporalio/common/lib/internal-non-workflow';
import { temporal } from '@temporalio/proto';
import { LongrunClient } from '../../src/client';
import { codebaseReviewSpec } from '../../src/shared/plans';
import { isStepHeartbeat } from '../../src/shared/step-io';
import { readAudit, type AuditLine } from '../support/audit-log';
import { generateRepo } from '../support/fixture-repo';
import { useServerAndWorkers } from '../support/temporal';
import { waitFor, type WorkerProcess } from '../support/worker-process';

const FILES = 3000;
const LINES_PER_FILE = 1000;
/** The worker's LONGRUN_SHUTDOWN_GRACE_MS in these tests. */
const GRACE_MS = 5_000;
/** Standard durability: a dead worker's step would wait for this heartbeat timeout (30 s) before a retry. */
const HEARTBEAT_TIMEOUT_MS = 30_000;

/** The analyze step as the server sees it: its recorded cursor, attempt and last failure. */
interface ServerStep {
  next: number | undefined;
  attempt: number;
  state: string;
  lastFailureType: string | undefined;
  lastFailureMessage: string | undefined;
  lastWorker: string;
}

const t = useServerAndWorkers('graceful', (d) => generateRepo(join(d, 'repo'), FILES, LINES_PER_FILE)); // every task reviews this one tree

async function serverStep(longrun: LongrunClient, taskId: string): Promise<ServerStep | undefined> {
  const description = await longrun.client.workflow.getHandle(taskId).describe();
  const pending = description.raw.pendingActivities?.[0];
  if (!pending) return undefined;
  const payloads = pending.heartbeatDetails?.payloads ?? [];
  const [details] = payloads.length
    ? await decodeArrayFromPayloads(longrun.client.options.loadedDataConverter, payloads)
    : [undefined];
  const cursor = isStepHeartbeat(details) ? (details.cursor as { next?: number } | null) : null;
  return {
    next: cursor?.next,
    attempt: pending.attempt ?? 0,
    state: temporal.api.enums.v1.PendingActivityState[pending.state ?? 0] ?? String(pending.state),
    lastFailureType: pending.lastFailure?.applicationFailureInfo?.type ?? undefined,
    lastFailureMessage: pending.lastFailure?.message ?? undefined,
    lastWorker: pending.lastWorkerIdentity ?? '',
  };
}

/** Workflow tasks that timed out (a task left on a dead worker's sticky queue times out after 10 s). */
async function workflowTaskTimeouts(longrun: LongrunClient, taskId: string): Promise<number> {
  const history = await longrun.client.workflow.getHandle(taskId).fetchHistory();
  const EventType = temporal.api.enums.v1.EventType;
  return (history.events ?? []).filter((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT)
    .length;
}

interface HandOver {
  signal: 'SIGTERM' | 'SIGINT';
  tasks: number;
  /** Start worker B before the signal (a rolling restart) rather than after A has exited. */
  secondFirst: boolean;
}

async function handOver({ signal, tasks, secondFirst }: HandOver) {
  const queue = `graceful-${signal.toLowerCase()}`;
  const workerEnv = {
    TEMPORAL_ADDRESS: t.env.address,
    LONGRUN_TASK_QUEUE: queue,
    LONGRUN_DATA_DIR: join(t.dir, `data-${queue}`), // both workers run on this machine and share it
    LONGRUN_SHUTDOWN_GRACE_MS: String(GRACE_MS),
    // A progress signal every second: workflow tasks keep coming while the steps run on either worker.
    LONGRUN_PROGRESS_REPORT_MS: '1000',
  };
  const longrun = new LongrunClient(t.env.client, queue);
  const first = t.spawn(workerEnv);
  const ids = Array.from({ length: tasks }, (_, i) => `${queue}-${i}`);
  const auditOf = (id: string) => join(t.dir, `${id}.audit.jsonl`);
  for (const taskId of ids) {
    await longrun.start(
      codebaseReviewSpec({
        taskId,
        root: join(t.dir, 'repo'),
        durability: 'standard',
        heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS,
        auditLog: auditOf(taskId),
      })
    );
  }
  // Signal once every task's analyze step is under way (a cursor recorded on the server).
  for (const taskId of ids) {
    await waitFor(
      `${taskId}: a recorded cursor past 5% of the files`,
      async () => ((await serverStep(longrun, taskId))?.next ?? 0) >= FILES / 20 || undefined,
      90_000,
      50
    );
  }
  let second: WorkerProcess | undefined;
  let secondStartedAt = 0;
  const startSecond = async () => {
    second = t.spawn(workerEnv);
    secondStartedAt = Date.now();
    await waitFor('worker B polling', () => (/task queue/.test(second!.output()) ? true : undefined), 30_000);
  };
  if (secondFirst) await startSecond();

  const signalledAt = Date.now();
  first.child.kill(signal);
  const exitCode = await first.exited;
  const exitMs = Date.now() - signalledAt;

  // Right after A's exit: what A's ledger holds and what the server kept of each step.
  const atExit = new Map<string, { ledger: AuditLine[]; step: ServerStep | undefined }>();
  for (const taskId of ids) {
    atExit.set(taskId, { ledger: readAudit(auditOf(taskId)), step: await serverStep(longrun, taskId) });
  }

  if (!secondFirst) await startSecond();
  const results = await Promise.all(ids.map((id) => longrun.result(id)));
  const completedAt = Date.now();
  const b = second as unknown as WorkerProcess;
  b.child.kill('SIGTERM');
  expect(await b.exited).toBe(0);

  const rows = [];
  for (const [i, taskId] of ids.entries()) {
    const { ledger, step } = atExit.get(taskId)!;
    const audit = readAudit(auditOf(taskId));
    const byFirst = audit.filter((a) => a.pid === first.pid);
    const bySecond = audit.filter((a) => a.pid === b.pid);
    const analyzedBySecond = new Set(bySecond.map((a) => a.index));
    const firstOnB = Math.min(...bySecond.map((a) => a.at));
    rows.push({
      taskId,
      ledgerLines: ledger.length,
      lastLedgerIndex: Math.max(...ledger.map((a) => a.index)),
      serverCursor: step?.next,
      state: step?.state,
      attempt: step?.attempt,
      lastFailure: step?.lastFailureType,
      lastFailureMessage: step?.lastFailureMessage,
      firstIndexOnB: Math.min(...bySecond.map((a) => a.index)),
      redone: byFirst.filter((a) => analyzedBySecond.has(a.index)).length,
      analyzed: new Set(audit.map((a) => a.index)).size,
      signalToFirstItemOnB: firstOnB - signalledAt,
      bStartToFirstItemOnB: firstOnB - secondStartedAt,
      workflowTaskTimeouts: await workflowTaskTimeouts(longrun, taskId),
      resumedFrom: results[i]?.outputs.analyze?.resumedFrom,
      files: results[i]?.outputs.analyze?.files,
    });
  }
  console.log(
    [
      `${signal}: worker A (pid ${first.pid}) exited with code ${exitCode} ${exitMs} ms after the signal (grace ${GRACE_MS} ms)`,
      `worker B (pid ${b.pid}) started ${secondStartedAt - signalledAt} ms after the signal; ` +
        `all ${tasks} tasks completed ${completedAt - signalledAt} ms after it`,
      ...rows.map((r) => JSON.stringify(r)),
      '--- worker A, longrun lines ---',
      ...first
        .output()
        .split('\n')
        .filter((l) => l.startsWith('longrun worker')),
    ].join('\n')
  );
  return { exitCode, exitMs, rows, output: first.output() };
}

describe('graceful shutdown of a real worker process', () => {
  it('on SIGTERM stops, saves every running step cursor on the server and a new worker resumes each step exactly there', async () => {
    const tasks = 3;
    const run = await handOver({ signal: 'SIGTERM', tasks, secondFirst: false });
    expect(run.exitCode).toBe(0);
    // Steps stop at their next item (milliseconds here), far inside the grace time.
    expect(run.exitMs).toBeLessThan(GRACE_MS);
    expect(run.output).toContain(`SIGTERM, stopping: ${tasks} steps saving their cursor`);
    expect(run.output).toMatch(new RegExp(`stopped \\d+ ms after SIGTERM: ${tasks} steps handed over`));
    for (const row of run.rows) {
      // The server holds the cursor right after the last file A analyzed: a step checks for
      // cancellation only between files, and its final cursor travels with the shutdown failure.
      expect(row.serverCursor).toBe(row.lastLedgerIndex + 1);
      expect(row.lastFailure).toBe('WorkerShutdown');
      expect(row.lastFailureMessage).toMatch(/is shutting down; it resumes from its cursor/);
      expect(row.state).toBe('PENDING_ACTIVITY_STATE_SCHEDULED');
      expect(row.attempt).toBe(2);
      // B starts exactly there: nothing redone, nothing skipped, every file analyzed once.
      expect(row.firstIndexOnB).toBe(row.serverCursor);
      expect(row.resumedFrom).toBe(row.serverCursor);
      expect(row.redone).toBe(0);
      expect(row.analyzed).toBe(FILES);
      expect(row.files).toBe(FILES);
      // B took the step over at once (retry after 100 ms), not after the 30 s heartbeat timeout, and
      // no workflow task waited on A's sticky queue.
      expect(row.bStartToFirstItemOnB).toBeLessThan(HEARTBEAT_TIMEOUT_MS / 3);
      expect(row.workflowTaskTimeouts).toBe(0);
    }
  });

  it('on SIGINT hands the steps over to a worker that is already running (a rolling restart) within a second or two', async () => {
    const run = await handOver({ signal: 'SIGINT', tasks: 2, secondFirst: true });
    expect(run.exitCode).toBe(0);
    expect(run.exitMs).toBeLessThan(GRACE_MS);
    expect(run.output).toContain('SIGINT, stopping: 2 steps saving their cursor');
    for (const row of run.rows) {
      expect(row.serverCursor).toBe(row.lastLedgerIndex + 1);
      expect(row.firstIndexOnB).toBe(row.serverCursor);
      expect(row.redone).toBe(0);
      expect(row.analyzed).toBe(FILES);
      expect(row.signalToFirstItemOnB).toBeLessThan(HEARTBEAT_TIMEOUT_MS / 3);
      // At most one workflow task may time out: one the server put on A's sticky queue in the instant
      // A stopped polling waits out the sticky timeout (3 s) once, then goes to B (seen once in CI).
      expect(row.workflowTaskTimeouts).toBeLessThanOrEqual(1);
    }
  });

  it('drains within its grace time on SIGTERM while a step measures a huge file of hostile lines, and the review completes', async () => {
    // 3 million copies of the 46-byte line that once made the analyzer backtrack for ever: about
    // 140 MB, seconds of CPU. The step must let the worker hear SIGTERM in the middle of the file.
    const root = join(t.dir, 'hostile-repo');
    mkdirSync(root);
    const hostile = `x = "${'\\'.repeat(40)}\n`;
    writeFileSync(join(root, 'a-hostile.js'), hostile.repeat(3_000_000));
    writeFileSync(join(root, 'b.ts'), 'if (a) b();\n');
    const queue = 'graceful-hostile';
    const workerEnv = {
      TEMPORAL_ADDRESS: t.env.address,
      LONGRUN_TASK_QUEUE: queue,
      LONGRUN_DATA_DIR: join(t.dir, `data-${queue}`),
      LONGRUN_SHUTDOWN_GRACE_MS: String(GRACE_MS),
    };
    const longrun = new LongrunClient(t.env.client, queue);
    const first = t.spawn(workerEnv);
    const { taskId } = await longrun.start(
      codebaseReviewSpec({ taskId: queue, root, durability: 'standard', maxFileBytes: 2 ** 30 })
    );
    await waitFor(
      'the analyze step started on the worker',
      async () =>
        ((await longrun.progress(taskId)).running ?? []).some((r) => r.id === 'analyze') &&
        (await serverStep(longrun, taskId))?.state === 'PENDING_ACTIVITY_STATE_STARTED'
          ? true
          : undefined,
      60_000,
      20
    );
    await new Promise((r) => setTimeout(r, 300)); // well inside the first file, which takes seconds
    const signalledAt = Date.now();
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    const exitMs = Date.now() - signalledAt;
    expect(exitMs).toBeLessThan(GRACE_MS);
    expect(first.output()).toMatch(/stopped \d+ ms after SIGTERM: 1 step handed over/);

    const second = t.spawn(workerEnv);
    const result = await longrun.result(taskId);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    console.log(`hostile file: worker exited ${exitMs} ms after SIGTERM (grace ${GRACE_MS} ms)`);
    expect(result.state).toBe('completed');
    expect(result.outputs.analyze).toMatchObject({ files: 2, lines: 3_000_001, codeLines: 3_000_001 });
  });
});
