/**
 * The live progress board: a worker sends its steps' item counts to the task queue's board once a
 * second, so `progress()` is fresh while each step heartbeats only as often as the worker's budget
 * allows (here 1 heartbeat a second for the whole worker: three steps heartbeat every 3 s).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeArrayFromPayloads } from '@temporalio/common/lib/internal-non-workflow';
import { boardWorkflowId, type BoardEntry } from '../../src/shared/progress-board';
import { isStepHeartbeat } from '../../src/shared/step-io';
import { boardReportSignal, liveProgressQuery } from '../../src/workflows/progress-board';
import { testActions } from '../support/test-actions';
import { useWorkerEnv } from '../support/temporal';

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
    const [entries, beatAge, progress] = await Promise.all([
      board()
        .query(liveProgressQuery, ['live-a'])
        .catch(() => [] as BoardEntry[]),
      heartbeatAge('live-a'),
      t.longrun.progress('live-a'),
    ]);
    const entry = entries[0];
    if (entry && entry.done > 0 && beatAge !== undefined) {
      boardAges.push(Date.now() - entry.at);
      beatAges.push(beatAge);
      // progress() shows the board's counts (or newer ones reported since): never the older heartbeat.
      const items = progress.running?.[0]?.items;
      expect(items?.done).toBeGreaterThanOrEqual(entry.done - 1);
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
