/**
 * Worker entry point: `node dist/worker/main.js` (or `longrun worker`). Connects to TEMPORAL_ADDRESS
 * (default 127.0.0.1:7233) and runs longrun tasks until SIGINT/SIGTERM.
 *
 * Graceful shutdown: the first SIGTERM or SIGINT (or SIGQUIT, SIGUSR2) stops polling and stops every
 * running step at its next item; each step hands its latest cursor to the server and is retried at once
 * on another worker. The process exits 0 once all have, or 1 after LONGRUN_SHUTDOWN_GRACE_MS if a step
 * did not stop (it resumes from its last checkpoint after its heartbeat timeout). A second signal exits
 * at once with 128 + the signal number.
 */

import { Runtime } from '@temporalio/worker';
import { loadConfig } from '../runtime/config';
import { createServer } from 'node:net';
import { healthReport, startHealthServer } from './health';
import { workerMetrics } from './metrics';
import { createLongrunWorker, WorkerStartError } from './factory';
import { ValidationError } from '../shared/validation';
import { EXIT, signalExitCode } from '../runtime/exit-codes';

const SHUTDOWN_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGQUIT', 'SIGUSR2'];

function log(line: string): void {
  console.error(`longrun worker ${process.pid}: ${line}`);
}

/** A free loopback port (the OS picks it; another process could take it first, which only loses SDK metrics). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function steps(n: number): string {
  return `${n} step${n === 1 ? '' : 's'}`;
}

/** Runs the worker until a shutdown signal; resolves with the exit code once every step is handed over. */
export async function runWorker(opts: { actionModules?: string[] } = {}): Promise<number> {
  const config = loadConfig();
  config.actionModules.push(...(opts.actionModules ?? []));
  // The SDK's metrics exporter listens on loopback only; GET /metrics of the health server serves its text.
  const sdkMetricsPort = config.health ? await freePort() : undefined;
  let sdkMetricsUrl: string | undefined;
  try {
    // This entry point handles the signals itself (below), to log, cap the wait and force a second time.
    Runtime.install({
      shutdownSignals: [],
      ...(sdkMetricsPort
        ? {
            telemetryOptions: {
              metrics: {
                prometheus: { bindAddress: `127.0.0.1:${sdkMetricsPort}`, countersTotalSuffix: true },
              },
            },
          }
        : {}),
    });
    if (sdkMetricsPort) sdkMetricsUrl = `http://127.0.0.1:${sdkMetricsPort}/metrics`;
  } catch {
    // A runtime already exists in this process: its own signal handlers stop the worker too.
  }
  const address = config.address ?? `127.0.0.1:${config.devPort}`;
  const created = await createLongrunWorker({ config, address });
  const { worker, connection, resources, live } = created;
  log(`task queue "${config.taskQueue}" on ${address}/${config.namespace}`);
  const health = config.health
    ? await startHealthServer({
        ...config.health,
        report: () => healthReport({ worker, ...(resources ? { resources: resources.monitor } : {}) }),
        metrics: workerMetrics(created, {
          namespace: config.namespace,
          taskQueue: config.taskQueue,
          ...(sdkMetricsUrl ? { sdkMetricsUrl } : {}),
        }),
      })
    : undefined;
  if (health) log(`health report on ${health.url}`);

  let stopping: { signal: NodeJS.Signals; at: number; running: number } | undefined;
  let deadline: NodeJS.Timeout | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      log(
        `${signal} again: exiting now; running steps resume from their last checkpoint after their heartbeat timeout`
      );
      process.exit(signalExitCode(signal));
    }
    const running = worker.getStatus().numInFlightNonLocalActivities;
    stopping = { signal, at: Date.now(), running };
    log(
      `${signal}, stopping: ${steps(running)} saving ${running === 1 ? 'its' : 'their'} cursor ` +
        `(waiting up to ${config.shutdownGraceMs} ms; a second signal exits at once)`
    );
    if (worker.getState() === 'RUNNING') worker.shutdown();
    deadline = setTimeout(() => {
      const left = worker.getStatus().numInFlightNonLocalActivities;
      log(
        `grace time of ${config.shutdownGraceMs} ms is over with ${steps(left)} still running: exiting; ` +
          'they resume from their last checkpoint after their heartbeat timeout'
      );
      process.exit(EXIT.failure);
    }, config.shutdownGraceMs);
  };
  for (const signal of SHUTDOWN_SIGNALS) process.on(signal, onSignal);

  try {
    await worker.run();
  } finally {
    clearTimeout(deadline);
    resources?.stop();
    await live?.stop(); // the board learns at once that this worker's steps have left
    await health?.close();
    await connection.close();
  }
  log(
    stopping
      ? `stopped ${Date.now() - stopping.at} ms after ${stopping.signal}: ${steps(stopping.running)} handed over with ${stopping.running === 1 ? 'its' : 'their'} cursor; exiting`
      : 'stopped'
  );
  return EXIT.ok;
}

if (require.main === module) {
  runWorker().then(
    (code) => process.exit(code),
    (err: unknown) => {
      // A known startup problem (a bad variable, no server, no namespace) is one line, no stack trace.
      const known = err instanceof ValidationError || err instanceof WorkerStartError;
      console.error(known ? `longrun worker: ${(err as Error).message}` : err);
      process.exit(known ? EXIT.badInput : EXIT.failure);
    }
  );
}
