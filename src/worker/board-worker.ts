/**
 * The live progress board's own workflow worker. The board runs on its own task queue
 * (`boardTaskQueue`), because on the main one its reports and `live` queries wait behind every
 * longTask activation: at 1,000 starting tasks that is seconds, and progress is only as fresh as
 * the board. The SDK polls one task queue per Worker, so this is a second, small Worker, run by a
 * plugin of the main one: it starts when the main worker runs (`run` or `runUntil`) and stops when
 * it stops, so callers run one worker as before.
 */
import { NativeConnection, Worker, type WorkerPlugin } from '@temporalio/worker';
import { boardTaskQueue } from '../shared/progress-board';
import type { WorkflowCode } from './workflow-bundle';

export interface BoardWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  /** The main worker's task queue (the board serves the steps running on it). */
  taskQueue: string;
  identity: string;
  /** The main worker's workflow code (the bundle holds `progressBoard`). */
  workflows: WorkflowCode;
}

export function progressBoardPlugin(opts: BoardWorkerOptions): WorkerPlugin {
  const warn = (what: string, err: unknown): void =>
    console.warn(
      `longrun: the progress board's worker ${what}: ${err instanceof Error ? err.message : String(err)} ` +
        '(progress then comes from heartbeats)'
    );
  return {
    name: 'longrun-progress-board',
    async runWorker(worker, next) {
      const board = Worker.create({
        connection: opts.connection,
        namespace: opts.namespace,
        taskQueue: boardTaskQueue(opts.taskQueue),
        identity: `${opts.identity} (progress board)`,
        ...opts.workflows,
        // One board per queue, plus the run it continues as; no activities, so no activity poller.
        maxCachedWorkflows: 4,
        maxConcurrentWorkflowTaskExecutions: 2,
        shutdownGraceTime: 0,
        stickyQueueScheduleToStartTimeout: '3 seconds',
      }).catch((err: unknown) => {
        warn('did not start', err);
        return undefined;
      });
      // Caught at once: a failed board must not end the process (an unhandled rejection would).
      const boardRun = board.then((w) => w?.run()).catch((err: unknown) => warn('failed', err));
      try {
        await next(worker);
      } finally {
        // A board created after the main worker stopped has run by now (its `then` came first): only
        // running and stopping releases its hold on the connection, which the caller closes next.
        const created = await board;
        if (created?.getState() === 'RUNNING') created.shutdown();
        await boardRun;
      }
    },
  };
}
