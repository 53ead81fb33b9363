import { createWriteStream, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { LongrunClient } from '../client';
import { ArtifactStore } from '../runtime/artifact-store';
import { loadConfig } from '../runtime/config';
import { startDevServer, type DevServer } from './server';
import { PACKAGE_ROOT, temporalCliPath } from './temporal-cli';
import { createLongrunWorker } from '../worker/factory';
import type { DurabilityLevel } from '../shared/durability';
import { codebaseReviewSpec } from '../shared/plans';
import { progressLine } from '../shared/progress';
import type { ArtifactRef } from '../shared/step-io';

export interface DevOptions {
  /** Folder the demo reviews. @default the package's own `src` */
  root?: string;
  /** @default "demo-codebase-review" */
  taskId?: string;
  durability?: DurabilityLevel;
  /** Stop everything once the task has finished instead of keeping the Web UI up. */
  exitOnComplete?: boolean;
  /** Start no demo task: a server and a worker for tasks you start yourself. @default true */
  demo?: boolean;
  /** Modules of your own actions, run by the worker besides the built-in ones. */
  actionModules?: string[];
}

/** The demo's pause per file of longrun's own src/ (about 100 files: some 15 s of analysis). */
const DEMO_THINK_MS = 150;

/** Writes a line; a closed terminal (SIGHUP) must not stop the shutdown that follows. */
const out = (line: string) => {
  try {
    process.stdout.write(`${line}\n`);
  } catch {
    // The terminal is gone.
  }
};

/**
 * The worker's and the SDK core's log lines go to `<data dir>/worker.log`, not into the live progress
 * line; longrun's own warnings (console.warn/error) still reach the terminal, each on a line of its own.
 */
function routeLogs(dataDir: string): string {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, 'worker.log');
  const log = createWriteStream(file, { flags: 'a' });
  log.on('error', () => undefined);
  Runtime.install({
    logger: new DefaultLogger('INFO', (entry) => {
      const at = new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
      const meta = entry.meta && Object.keys(entry.meta).length ? ` ${JSON.stringify(entry.meta)}` : '';
      log.write(`${at} ${entry.level} ${entry.message}${meta}\n`);
    }),
    telemetryOptions: { logging: { filter: { core: 'WARN', other: 'ERROR' }, forward: {} } },
    shutdownSignals: [],
  });
  if (process.stdout.isTTY) {
    for (const method of ['warn', 'error'] as const) {
      const print = console[method].bind(console);
      console[method] = (...args: unknown[]) => {
        process.stdout.write('\r\x1b[2K'); // off the progress line, which is drawn again next tick
        print(...args);
      };
    }
  }
  return file;
}

function workflowUrl(uiUrl: string, namespace: string, taskId: string): string {
  return `${uiUrl}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(taskId)}`;
}

/**
 * `longrun dev`: a local Temporal dev server (SQLite in the data folder), a worker and the demo
 * codebase review, with live progress. Ctrl-C drains the worker and stops the server; running it again
 * continues the same task. With TEMPORAL_ADDRESS set, uses that cluster and starts no server.
 */
export async function runDev(opts: DevOptions = {}): Promise<number> {
  const config = loadConfig();
  config.actionModules.push(...(opts.actionModules ?? []));
  const logFile = routeLogs(config.dataDir);
  const taskId = opts.taskId ?? 'demo-codebase-review';
  const root =
    opts.root ?? (existsSync(join(PACKAGE_ROOT, 'src')) ? join(PACKAGE_ROOT, 'src') : process.cwd());

  let server: DevServer | undefined;
  let address = config.address;
  let temporal = 'temporal'; // the Temporal CLI, as a hint the user can paste
  if (!address) {
    const cliPath = temporalCliPath();
    temporal = cliPath;
    out(`Starting the Temporal dev server (database ${join(config.dataDir, 'temporal.db')}) ...`);
    server = await startDevServer({
      cliPath,
      dataDir: config.dataDir,
      port: config.devPort,
      uiPort: config.devUiPort,
      namespace: config.namespace,
    });
    address = server.address;
  }
  out(`Temporal: ${address}, namespace "${config.namespace}", task queue "${config.taskQueue}"`);
  out(`Worker and SDK log: ${logFile}`);

  let stopRequested = false;
  let wake: () => void = () => undefined;
  const { worker, connection, actions } = await createLongrunWorker({ config, address });
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopRequested) {
      out(`\n${signal} again: exiting now`);
      process.exit(130);
    }
    stopRequested = true;
    out(`\n${signal}: draining the worker (running steps save their cursor), then stopping ...`);
    wake();
  };
  // SIGHUP: the terminal was closed; stop as for Ctrl-C, so no server is left running on its own.
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  process.stdout.on('error', () => undefined);
  const workerDone = worker.run();
  const client = await LongrunClient.connect({ config, address });
  const sleep = (ms: number) =>
    new Promise<void>((r) => {
      const timer = setTimeout(r, ms);
      wake = () => {
        clearTimeout(timer);
        r();
      };
    });

  let exitCode = 0;
  let taskEnded = false;
  try {
    if (opts.demo === false) {
      out(`Worker running the actions ${actions.map((a) => a.name).join(', ')}`);
      if (server?.uiUrl) out(`Web UI: ${server.uiUrl}`);
      out(
        'Start a task from another terminal: longrun start SPEC.json   (Ctrl-C here stops the worker and server)'
      );
      while (!stopRequested) await sleep(60_000);
      return 0;
    }
    const spec = codebaseReviewSpec({
      taskId,
      root,
      durability: opts.durability ?? 'high',
      // longrun's own src/ takes under a second to measure: a pause per file, as for a model call, lets
      // a first run show items, speed and an ETA.
      ...(opts.root === undefined ? { thinkMsPerFile: DEMO_THINK_MS } : {}),
    });
    const started = await client.start(spec);
    out(
      started.started
        ? `Started task ${taskId} (run ${started.runId}) reviewing ${root}`
        : `Continuing task ${taskId} (run ${started.runId}): it already exists`
    );
    if (server?.uiUrl) out(`Web UI: ${workflowUrl(server.uiUrl, config.namespace, taskId)}`);
    out(
      `Progress: node ${relative(process.cwd(), join(PACKAGE_ROOT, 'bin', 'longrun.js'))} status ${taskId}   ` +
        `(or the Temporal CLI: ${temporal} workflow query --address ${address} --type progress --workflow-id ${taskId})`
    );

    const tty = process.stdout.isTTY;
    let lastLine = '';
    let lastPrinted = 0;
    let execution = 'RUNNING';
    while (!stopRequested) {
      const status = await client.status(taskId);
      execution = status.execution;
      if (status.progress) {
        const line = progressLine(status.progress);
        if (tty) process.stdout.write(`\r\x1b[2K${line}`);
        else if (line !== lastLine && Date.now() - lastPrinted > 2000) {
          out(line);
          lastPrinted = Date.now();
        }
        lastLine = line;
      }
      if (execution !== 'RUNNING') break;
      await sleep(500);
    }
    if (tty) out('');
    taskEnded = execution !== 'RUNNING';
    if (!stopRequested) {
      if (execution === 'COMPLETED') {
        const result = await client.result(taskId);
        const ref = result.outputs.report?.report as ArtifactRef | undefined;
        if (ref) {
          const reportPath = join(config.dataDir, 'reports', `${taskId}.md`);
          mkdirSync(join(config.dataDir, 'reports'), { recursive: true });
          writeFileSync(reportPath, await new ArtifactStore(config.artifactDir).getText(ref));
          const analysis = result.outputs.analyze ?? {};
          out(
            `Task ${taskId} completed: ${String(analysis.files)} files, ${String(analysis.lines)} lines analyzed.`
          );
          if (Number(analysis.resumedFrom) > 0) {
            out(`The analyze step was interrupted and resumed at file ${String(analysis.resumedFrom)}.`);
          }
          out(`Report: ${reportPath}`);
        }
      } else {
        out(`Task ${taskId} ended as ${execution}.`);
        exitCode = 1;
      }
      if (!opts.exitOnComplete) {
        out('The server and worker keep running so you can explore the Web UI. Press Ctrl-C to stop.');
        while (!stopRequested) await sleep(60_000);
      }
    }
  } catch (err) {
    out(`\nError: ${err instanceof Error ? err.message : String(err)}`);
    exitCode = 1;
  } finally {
    const drainStarted = Date.now();
    if (worker.getState() === 'RUNNING') worker.shutdown();
    await workerDone.catch((err: unknown) => out(`worker stopped with an error: ${String(err)}`));
    out(`Worker drained in ${((Date.now() - drainStarted) / 1000).toFixed(1)} s.`);
    await client.close();
    await connection.close();
    if (server) {
      await server.stop();
      out(
        taskEnded
          ? 'Temporal dev server stopped.'
          : 'Temporal dev server stopped. Run the same command again to continue.'
      );
    }
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
  }
  return exitCode;
}
