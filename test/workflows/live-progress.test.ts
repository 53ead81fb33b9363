/**
 * The live progress board: a worker sends its steps' item counts to the task queue's board once a
 * second, so `progress()` is fresh while each step heartbeats only as often as the worker's budget
 * allows (here 1 heartbeat a second for the whole worker: three steps heartbeat every 3 s).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeArrayFromPayloads } from '@temporalio/common/lib/internal-non-workflow';
import { boardTaskQueue, boardWorkflowId, type BoardEntry } from '../../src/shared/progress-board';
import { isStepHeartbeat } from '../../src/shared/step-io';
import { boardReportSignal, liveProgressQuery } from '../../src/workflows/progress-board';
import { testActions } from '../support/test-actions';
import { recordHistory, useWorkerEnv } from '../support/temporal';

const QUEUE = 'live-progress-test';
const t = useWorkerEnv({
  taskQueue: QUEUE,
  actions: testActions,
  live: { heartbeatsPerSecond: 1, intervalMs: 500 },
});

const board = () => t.env.client.workflow.getHandle(boardWorkflowId(QUEUE));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The age of the item counts the server holds in the running step's heartbeat, ms. */
async function heartbeatAge(taskId: string): Promise<number | undefined> {
  const d = await t.env.client.workflow.getHandle(taskId).describe();
  const pending = d.raw.pendingActivities?.[0]?.heartbeatDetails?.payloads;
  if (!pending?.length) return undefined;
  const [beat] = await decodeArrayFromPayloads(t.env.client.options.loadedDataConverter, pending);
  return isStepHeartbeat(beat) && beat.at ? Date.now() - beat.at : undefined;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

it('serves fresh item counts from the board while heartbeats follow the worker budget, and forgets ended steps', async () => {
  const ids = ['live-a', 'live-b', 'live-c'];
  for (const taskId of ids) {
    await t.longrun.start({
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
              input: { ledger: join(t.dir, `${taskId}.ledger`), label: taskId, items: 60, itemMs: 150 },
            },
          ],
        },
      ],
    });
  }
  const boardAges: number[] = [];
  const beatAges: number[] = [];
  const deadline = Date.now() + 6_000;
  while (Date.now() < deadline) {
    // The board first, then progress(): its counts can only have grown in between.
    const entries = await board()
      .query(liveProgressQuery, ['live-a'])
      .catch(() => [] as BoardEntry[]);
    const [beatAge, progress] = await Promise.all([heartbeatAge('live-a'), t.longrun.progress('live-a')]);
    const entry = entries[0];
    if (entry && entry.done > 0 && beatAge !== undefined) {
      boardAges.push(Date.now() - entry.at);
      beatAges.push(beatAge);
      // progress() shows the board's counts (or newer ones reported since): never the older heartbeat.
      const items = progress.running?.[0]?.items;
      expect(items?.done).toBeGreaterThanOrEqual(entry.done);
      expect(entry).toMatchObject({ taskId: 'live-a', stepId: 'work', total: 60 });
    }
    await sleep(200);
  }
  expect(boardAges.length).toBeGreaterThanOrEqual(10);
  // Three steps on a budget of one heartbeat a second: each heartbeats every 3 s, so the server's
  // copy is at times over 2 s old, while the board is refreshed every half second.
  expect(Math.max(...beatAges)).toBeGreaterThan(2_000);
  expect(median(boardAges)).toBeLessThan(median(beatAges));

  for (const taskId of ids) expect((await t.longrun.result(taskId)).state).toBe('completed');
  // Every item once, despite the slower heartbeats.
  for (const taskId of ids) {
    const lines = readFileSync(join(t.dir, `${taskId}.ledger`), 'utf8')
      .split('\n')
      .filter(Boolean);
    expect(lines).toEqual(Array.from({ length: 60 }, (_, i) => `${taskId}:${i}`));
  }
  // Ended steps leave the board with the worker's next report.
  let left: BoardEntry[] = [];
  for (let i = 0; i < 20; i++) {
    left = await board().query(liveProgressQuery, ids);
    if (left.length === 0) break;
    await sleep(250);
  }
  expect(left).toEqual([]);
  // The board runs on its own task queue, served by the worker's board worker (not behind its tasks).
  const described = await board().describe();
  expect(described.taskQueue).toBe(boardTaskQueue(QUEUE));
  const history = await board().fetchHistory();
  const completedBy = new Set(
    (history.events ?? []).flatMap((e) =>
      e.workflowTaskCompletedEventAttributes ? [e.workflowTaskCompletedEventAttributes.identity] : []
    )
  );
  expect([...completedBy]).toEqual(['test-worker (progress board)']);
});

it('ignores a malformed report and keeps answering', async () => {
  await board().signal(boardReportSignal, { worker: 'x', entries: [{ taskId: 1 }], gone: 'no' } as never);
  await board().signal(boardReportSignal, {
    worker: 'probe',
    entries: [{ taskId: 'probe', stepId: 's', done: 2, total: 5, at: Date.now() }],
    gone: [],
  });
  const entries = await board().query(liveProgressQuery, ['probe']);
  expect(entries).toEqual([expect.objectContaining({ taskId: 'probe', done: 2, total: 5 })]);
  // A query with a bad argument answers with nothing rather than failing the board.
  expect(await board().query(liveProgressQuery, 'probe' as never)).toEqual([]);
});

it('continues as new past its event limit onto its own queue, with every live entry', async () => {
  // As a worker from before the board had its own queue left it: running on the main queue.
  await board().terminate('restarted on the main queue');
  const first = (
    await t.env.client.workflow.signalWithStart('progressBoard', {
      workflowId: boardWorkflowId(QUEUE),
      taskQueue: QUEUE,
      args: [{}],
      signal: boardReportSignal,
      signalArgs: [{ worker: 'old', entries: [{ taskId: 1 }], gone: 'no' } as never],
    })
  ).signaledRunId;
  const now = Date.now();
  // Each report is one signal event, so 2,040 of them pass the run's 2,000-event limit.
  for (let i = 0; i < 2_040; i += 40) {
    await Promise.all(
      Array.from({ length: 40 }, (_, k) =>
        board().signal(boardReportSignal, {
          worker: 'load',
          entries: [{ taskId: `load-${k}`, stepId: 's', done: i + k, total: 3_000, at: now + i + k }],
          gone: [],
        })
      )
    );
  }
  let runId = first;
  for (let i = 0; i < 40 && runId === first; i++) {
    await sleep(250);
    runId = (await board().describe()).runId;
  }
  expect(runId).not.toBe(first);
  expect((await board().describe()).taskQueue).toBe(boardTaskQueue(QUEUE));
  const entries = await board().query(
    liveProgressQuery,
    Array.from({ length: 40 }, (_, k) => `load-${k}`)
  );
  expect(entries).toHaveLength(40);
  // Each task's newest report (the highest `done` sent for it) survived the handover.
  for (const e of entries) expect(e.done).toBe(2_000 + Number(e.taskId.slice('load-'.length)));
  recordHistory(t.env, boardWorkflowId(QUEUE), 'progress-board-continued-as-new-v1.json', first);
});
