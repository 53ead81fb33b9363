import { join } from 'node:path';
import { decodeArrayFromPayloads } from '@temporalio/common/lib/internal-non-workflow';
import type { LongrunClient } from '../../src/client';
import { startDevServer, type DevServer } from '../../src/dev/server';
import { isStepHeartbeat } from '../../src/shared/step-io';
import { spawnWorker, type WorkerProcess } from './worker-process';

export interface ChaosClusterOptions {
  /** Path of the `temporal` CLI. */
  cliPath: string;
  /** Folder of the server's SQLite database and log, and of the workers' shared data dir. */
  dir: string;
  port: number;
  taskQueue: string;
}

/**
 * A Temporal dev server on a SQLite file and longrun worker processes (`dist/worker/main.js`), each a real
 * OS process that can be SIGKILLed and started again: the server on the same database file and port.
 */
export class ChaosCluster {
  server: DevServer | undefined;
  worker: WorkerProcess | undefined;
  /** Every worker process started, in order. */
  readonly workers: WorkerProcess[] = [];

  constructor(private readonly opts: ChaosClusterOptions) {}

  get address(): string {
    return `127.0.0.1:${this.opts.port}`;
  }

  /** Starts (or restarts) the dev server on the cluster's database; resolves once it answers. */
  async startServer(): Promise<DevServer> {
    this.server = await startDevServer({
      cliPath: this.opts.cliPath,
      dataDir: join(this.opts.dir, 'server'),
      port: this.opts.port,
      uiPort: 0,
    });
    return this.server;
  }

  /** SIGKILLs the dev server's process group and waits until the process is gone. */
  async killServer(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    killGroup(server.pid);
    await server.stop(0); // only waits for the exit and removes the pid file
  }

  startWorker(): WorkerProcess {
    this.worker = spawnWorker({
      TEMPORAL_ADDRESS: this.address,
      LONGRUN_TASK_QUEUE: this.opts.taskQueue,
      // Every worker runs on this machine and shares the steps' scratch files and artifacts.
      LONGRUN_DATA_DIR: join(this.opts.dir, 'worker-data'),
    });
    this.workers.push(this.worker);
    return this.worker;
  }

  workerAlive(): boolean {
    const child = this.worker?.child;
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  /** SIGKILLs the current worker and waits until the process is gone. */
  async killWorker(): Promise<WorkerProcess | undefined> {
    const worker = this.worker;
    if (!worker) return undefined;
    this.worker = undefined;
    worker.child.kill('SIGKILL');
    await worker.exited;
    return worker;
  }

  /** Stops every process this cluster started (workers first), whatever state they are in. */
  async cleanup(): Promise<void> {
    for (const w of this.workers) {
      if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
      await w.exited;
    }
    await this.killServer();
  }
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL'); // the server runs in its own process group
  } catch {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** What the server holds about a task's running step (its first pending activity), if any. */
export interface PendingStep {
  attempt: number;
  /** The recorded cursor's next file index (0 before the first checkpoint). */
  next: number;
  /** When the server last recorded a heartbeat of this step (epoch ms), if ever. */
  lastHeartbeatAt: number | undefined;
}

export async function pendingStep(longrun: LongrunClient, taskId: string): Promise<PendingStep | undefined> {
  const description = await longrun.client.workflow.getHandle(taskId).describe();
  const pending = description.raw.pendingActivities?.[0];
  if (!pending) return undefined;
  const payloads = pending.heartbeatDetails?.payloads;
  const [details] = payloads?.length
    ? await decodeArrayFromPayloads(longrun.client.options.loadedDataConverter, payloads)
    : [undefined];
  const cursor = isStepHeartbeat(details) ? (details.cursor as { next?: number } | null) : null;
  const hb = pending.lastHeartbeatTime;
  return {
    attempt: pending.attempt ?? 1,
    next: cursor?.next ?? 0,
    lastHeartbeatAt: hb ? Number(hb.seconds) * 1000 + Math.floor((hb.nanos ?? 0) / 1e6) : undefined,
  };
}
