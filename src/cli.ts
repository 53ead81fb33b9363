/**
 * The `longrun` command line, a thin layer over the typed client.
 * Exit codes: 0 ok, 1 failure, 2 bad arguments or input, 3 unknown task or checkpoint, 4 request rejected
 * by the task (e.g. a checkpoint of a finished task).
 */
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { LongrunClient, TaskRequestRejectedError, UnknownCheckpointError, UnknownTaskError } from './client';
import { runDev } from './commands/dev';
import { DURABILITY_LEVELS, type DurabilityLevel } from './shared/durability';
import { progressLine } from './shared/progress';
import { ValidationError } from './shared/validation';
import { runWorker } from './worker';

export const EXIT = { ok: 0, failure: 1, badInput: 2, unknownTask: 3, rejected: 4 } as const;

function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

async function withClient<T>(fn: (client: LongrunClient) => Promise<T>): Promise<T> {
  const client = await LongrunClient.connect();
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

function readSpecFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ValidationError('spec file', [
      { path, rule: `cannot be read (${(err as NodeJS.ErrnoException).code})` },
    ]);
  }
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new ValidationError('spec file', [{ path, rule: `is not valid JSON (${(err as Error).message})` }]);
  }
}

export function buildProgram(): Command {
  const program = new Command('longrun')
    .description('Durable long-running agent tasks on Temporal')
    .showHelpAfterError()
    .exitOverride();

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
    .action(
      async (opts: {
        root?: string;
        taskId: string;
        durability: DurabilityLevel;
        exitOnComplete?: boolean;
      }) => {
        process.exitCode = await runDev(opts);
      }
    );

  program
    .command('worker')
    .description('run a worker for longrun tasks until SIGINT/SIGTERM (uses TEMPORAL_ADDRESS)')
    .action(async () => {
      await runWorker();
    });

  program
    .command('start <spec>')
    .description('start a task from a JSON spec file (idempotent on the task id)')
    .option('--json', 'print JSON')
    .action(async (specPath: string, opts: { json?: boolean }) => {
      const spec = readSpecFile(specPath);
      const started = await withClient((client) => client.start(spec));
      if (opts.json) printJson(started);
      else
        process.stdout.write(
          `${started.started ? 'started' : 'already exists'}: ${started.taskId} (run ${started.runId})\n`
        );
    });

  program
    .command('status <taskId>')
    .description("show a task's state and progress")
    .option('--json', 'print JSON')
    .action(async (taskId: string, opts: { json?: boolean }) => {
      const status = await withClient((client) => client.status(taskId));
      if (opts.json) printJson(status);
      else {
        process.stdout.write(`${taskId}: ${status.execution}\n`);
        if (status.progress) process.stdout.write(`${progressLine(status.progress)}\n`);
      }
    });

  program
    .command('checkpoints <taskId>')
    .description("list a task's named checkpoints (oldest first)")
    .option('--json', 'print JSON')
    .action(async (taskId: string, opts: { json?: boolean }) => {
      const records = await withClient((client) => client.checkpoints(taskId));
      if (opts.json) return printJson(records);
      for (const r of records) {
        const at = new Date(r.at).toISOString();
        process.stdout.write(
          `${r.id.padEnd(16)} ${r.type.padEnd(10)} step ${String(r.stepIndex).padStart(4)}  ${at}  ${r.label}\n`
        );
      }
    });

  program
    .command('checkpoint <taskId>')
    .description('record a manual checkpoint now')
    .requiredOption('--label <text>', 'name of the checkpoint')
    .option('--json', 'print JSON')
    .action(async (taskId: string, opts: { label: string; json?: boolean }) => {
      const record = await withClient((client) => client.checkpoint(taskId, opts.label));
      if (opts.json) printJson(record);
      else process.stdout.write(`recorded ${record.id} at step ${record.stepIndex}: ${record.label}\n`);
    });

  program
    .command('rollback <taskId> <checkpointId>')
    .description('reset a task to a named checkpoint; later steps run again')
    .option('--json', 'print JSON')
    .action(async (taskId: string, checkpointId: string, opts: { json?: boolean }) => {
      const result = await withClient((client) => client.rollback(taskId, checkpointId));
      if (opts.json) return printJson(result);
      process.stdout.write(
        `rolled ${taskId} back to ${checkpointId} (new run ${result.runId}); steps to run again: ${result.stepsToRedo.join(', ') || 'none'}\n`
      );
    });

  program
    .command('result <taskId>')
    .description('wait for a task to finish and print its result as JSON')
    .action(async (taskId: string) => {
      printJson(await withClient((client) => client.result(taskId)));
    });

  return program;
}

export async function main(argv: string[] = process.argv): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help') {
      process.exitCode = EXIT.ok;
    } else if (code?.startsWith('commander.')) {
      process.exitCode = EXIT.badInput;
    } else if (err instanceof ValidationError) {
      process.stderr.write(`error: ${err.message}\n`);
      process.exitCode = EXIT.badInput;
    } else if (err instanceof TaskRequestRejectedError) {
      process.stderr.write(`error: ${err.message}\n`);
      process.exitCode = EXIT.rejected;
    } else if (err instanceof UnknownTaskError || err instanceof UnknownCheckpointError) {
      process.stderr.write(`error: ${err.message}\n`);
      process.exitCode = EXIT.unknownTask;
    } else {
      process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = EXIT.failure;
    }
  }
}
