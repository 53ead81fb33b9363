/**
 * Commands that run or ask longrun processes: dev, worker, health, actions. Worker code is imported
 * inside the actions that need it, so the client commands run where `@temporalio/worker` is not installed.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { DURABILITY_LEVELS, type DurabilityLevel } from '../shared/durability';
import { ValidationError } from '../shared/validation';
import { EXIT, ExitError } from '../runtime/exit-codes';
import { actionsText } from './format';
import { printHealth } from './health';
import { print, printJson, withClient } from './io';

const WORKER_PACKAGE = '@temporalio/worker';

/** `dev` or `worker` was run where the worker package cannot be loaded. */
export class MissingWorkerPackageError extends ExitError {
  override readonly name = 'MissingWorkerPackageError';
  constructor(command: string) {
    super(
      `longrun ${command} needs ${WORKER_PACKAGE}: npm install ${WORKER_PACKAGE}@${workerPackageVersion()}`,
      EXIT.failure
    );
  }
}

/** The version longrun is built against, as its package.json names it (peer, dev or runtime dependency). */
export function workerPackageVersion(): string {
  const manifest = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as Record<
    string,
    Record<string, string> | undefined
  >;
  for (const field of ['peerDependencies', 'devDependencies', 'dependencies']) {
    const version = manifest[field]?.[WORKER_PACKAGE];
    if (version) return version;
  }
  return 'latest';
}

function isMissingWorkerPackage(err: unknown): boolean {
  return (
    (err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' &&
    /^Cannot find module '@temporalio\/worker(\/[^']*)?'/.test((err as Error).message)
  );
}

/** Imports worker-side code for `command`, turning an absent worker package into one clear error. */
async function loadWorkerCode<T>(command: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (err) {
    if (isMissingWorkerPackage(err)) throw new MissingWorkerPackageError(command);
    throw err;
  }
}

interface DevCommandOptions {
  root?: string;
  taskId: string;
  durability: DurabilityLevel;
  exitOnComplete?: boolean;
  demo: boolean;
  actions?: string[];
}

export function addProcessCommands(program: Command): void {
  program.commandsGroup('Processes:');

  program
    .command('dev')
    .description(
      'start a local Temporal dev server, a worker and the demo codebase review, with live progress'
    )
    .option('--root <dir>', "folder for the demo to review (default: longrun's own src/)")
    .option('--task-id <id>', 'task id of the demo', 'demo-codebase-review')
    .addOption(
      new Option('--durability <level>', 'durability level').choices(DURABILITY_LEVELS).default('high')
    )
    .option('--exit-on-complete', 'stop the server and worker when the task ends')
    .option('--no-demo', 'start no demo task: a server and a worker for the tasks you start')
    .option('--actions <modules...>', 'modules exporting your own actions (also LONGRUN_ACTIONS)')
    .action(async (opts: DevCommandOptions) => {
      const { runDev } = await loadWorkerCode('dev', () => import('../dev/command'));
      process.exitCode = await runDev({ ...opts, actionModules: opts.actions ?? [] });
    });

  program
    .command('worker')
    .description('run a worker for longrun tasks until SIGINT/SIGTERM (uses TEMPORAL_ADDRESS)')
    .option('--actions <modules...>', 'modules exporting your own actions (also LONGRUN_ACTIONS)')
    .action(async (opts: { actions?: string[] }) => {
      const { runWorker } = await loadWorkerCode('worker', () => import('../worker/main'));
      const { WorkerStartError } = await import('../worker/factory');
      try {
        process.exitCode = await runWorker({ actionModules: opts.actions ?? [] });
      } catch (err) {
        // The same line and code as `node dist/worker/main.js`: a variable to fix, named with its value.
        if (err instanceof ValidationError || err instanceof WorkerStartError) {
          throw new ExitError(`longrun worker: ${err.message}`, EXIT.badInput);
        }
        throw err;
      }
    });

  program
    .command('health')
    .description("print a worker's health: resource mode, levels, trends and thresholds, circuit breakers")
    .option('--url <url>', 'the report (default: http://127.0.0.1:$LONGRUN_HEALTH_PORT/health)')
    .option('--json', 'print the report as JSON, as GET /health serves it')
    .action(async (opts: { url?: string; json?: boolean }) => {
      process.exitCode = await printHealth(opts.url, process.stdout, { json: opts.json === true });
    });

  program
    .command('actions')
    .description("list the actions the task queue's workers run, with their inputs (as they published them)")
    .option('--json', 'print the catalogs as JSON (input schemas as JSON Schema)')
    .action(async (opts: { json?: boolean }) => {
      const catalogs = await withClient((client) => client.actions());
      if (opts.json) printJson(catalogs);
      else print(actionsText(catalogs));
    });
}
