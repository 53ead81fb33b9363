/**
 * The worker's side of the live progress board (src/shared/progress-board.ts): its steps hand their
 * latest counts here, and once a second one signal carries what changed to the task queue's board.
 */
import { Client } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import {
  BOARD_ENTRIES_PER_SIGNAL,
  BOARD_REPORT_MS,
  boardTaskQueue,
  boardWorkflowId,
  entryKey,
  heartbeatCadenceMs,
  type BoardEntry,
  type LiveProgress,
} from '../shared/progress-board';
import { boardReportSignal, progressBoard } from '../workflows/progress-board';

export interface ProgressReporterOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  identity: string;
  /** Heartbeats per second this worker's steps may send together; 0: no budget. */
  heartbeatsPerSecond: number;
  /** @default BOARD_REPORT_MS */
  intervalMs?: number;
  /** False once the worker has stopped: the reporter stops too (its connection may be closed). */
  active?: () => boolean;
}

export class ProgressReporter implements LiveProgress {
  private readonly client: Client;
  /** Every running step's latest entry (for the cadence and a board that restarted). */
  private readonly live = new Map<string, BoardEntry>();
  private readonly changed = new Set<string>();
  private readonly gone = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private sending: Promise<void> = Promise.resolve();
  private failures = 0;

  constructor(private readonly opts: ProgressReporterOptions) {
    this.client = new Client({ connection: opts.connection, namespace: opts.namespace });
  }

  update(entry: BoardEntry): void {
    const key = entryKey(entry);
    this.live.set(key, entry);
    this.changed.add(key);
    this.gone.delete(key);
  }

  remove(key: string): void {
    if (!this.live.delete(key)) return;
    this.changed.delete(key);
    this.gone.add(key);
  }

  cadenceMs(floorMs: number, heartbeatTimeoutMs: number | undefined): number {
    return heartbeatCadenceMs(this.live.size, this.opts.heartbeatsPerSecond, floorMs, heartbeatTimeoutMs);
  }

  start(): void {
    this.timer ??= setInterval(() => {
      if (this.opts.active && !this.opts.active()) {
        clearInterval(this.timer);
        return;
      }
      // One report at a time: a slow server must not pile them up.
      this.sending = this.sending.then(() => this.flush());
    }, this.opts.intervalMs ?? BOARD_REPORT_MS).unref();
  }

  /** Stops the timer after one last report. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.sending;
    await this.flush();
  }

  /** Sends what changed since the last report; a failed report is sent again with the next one. */
  async flush(): Promise<void> {
    if (this.changed.size === 0 && this.gone.size === 0) return;
    const keys = [...this.changed];
    const gone = [...this.gone];
    this.changed.clear();
    this.gone.clear();
    try {
      for (let i = 0; i < Math.max(keys.length, gone.length); i += BOARD_ENTRIES_PER_SIGNAL) {
        const entries = keys
          .slice(i, i + BOARD_ENTRIES_PER_SIGNAL)
          .map((k) => this.live.get(k))
          .filter((e): e is BoardEntry => e !== undefined);
        await this.client.workflow.signalWithStart(progressBoard, {
          workflowId: boardWorkflowId(this.opts.taskQueue),
          // Served by the board worker of each longrun worker (progressBoardPlugin, board-worker.ts).
          taskQueue: boardTaskQueue(this.opts.taskQueue),
          args: [{}],
          signal: boardReportSignal,
          signalArgs: [
            { worker: this.opts.identity, entries, gone: gone.slice(i, i + BOARD_ENTRIES_PER_SIGNAL) },
          ],
          staticSummary: `Live item progress of the steps running on task queue "${this.opts.taskQueue}" (longrun)`,
        });
      }
      this.failures = 0;
    } catch (err) {
      for (const k of keys) if (this.live.has(k)) this.changed.add(k);
      for (const k of gone) if (!this.live.has(k)) this.gone.add(k);
      // Readers then fall back to the heartbeats; say so once, not every second.
      if (this.failures++ === 0) {
        console.warn(
          `longrun: could not report live progress: ${err instanceof Error ? err.message : String(err)}`
        );
      }
    }
  }
}
