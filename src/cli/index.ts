/**
 * The `longrun` command line, a thin layer over the typed client: the command groups in tasks.ts,
 * steering.ts, recovery.ts, process.ts, cluster.ts and completion.ts; exit codes in exit-codes.ts (also printed by
 * `longrun --help`).
 */
import { Command } from 'commander';
import { CancelledFailure, WorkflowFailedError } from '@temporalio/client';
import { TaskRequestRejectedError, UnknownCheckpointError, UnknownTaskError } from '../client';
import { ValidationError } from '../shared/validation';
import { addClusterCommands } from './cluster';
import { addCompletionCommand } from './completion';
import { EXIT, ExitError, exitCodeLines } from '../runtime/exit-codes';
import { addProcessCommands } from './process';
import { addRecoveryCommands } from './recovery';
import { addSteeringCommands } from './steering';
import { addTaskCommands } from './tasks';

export function buildProgram(): Command {
  const program = new Command('longrun')
    .description('Durable long-running agent tasks on Temporal')
    .showHelpAfterError()
    .exitOverride();
  addTaskCommands(program);
  addSteeringCommands(program);
  addRecoveryCommands(program);
  addProcessCommands(program);
  addClusterCommands(program);
  addCompletionCommand(program);
  program.addHelpText('after', `\nExit codes:\n${exitCodeLines().join('\n')}\n`);
  return program;
}

/** The innermost cause's message: Temporal wraps the step's error in activity and application failures. */
function failureText(err: WorkflowFailedError): string {
  let current: unknown = err.cause;
  while (current instanceof Error && current.cause instanceof Error) current = current.cause;
  return current instanceof Error ? current.message : err.message;
}

/** The exit code for an error a command threw, after saying what went wrong on stderr. */
function exitForError(err: unknown): number {
  const code = (err as { code?: string }).code;
  if (code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help') {
    return EXIT.ok;
  }
  if (code?.startsWith('commander.')) return EXIT.badInput; // commander has printed the error and the help
  if (err instanceof ExitError) {
    process.stderr.write(`${err.message}\n`);
    return err.exitCode;
  }
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure) {
    // An engine v1 task cancelled without its partial results: `watch` says cancelled too.
    process.stderr.write(`error: the task was cancelled: ${failureText(err)}\n`);
    return EXIT.taskCancelled;
  }
  if (err instanceof WorkflowFailedError) {
    process.stderr.write(`error: the task failed: ${failureText(err)}\n`);
    return EXIT.taskFailed;
  }
  process.stderr.write(`error: ${message}\n`);
  if (err instanceof ValidationError) return EXIT.badInput;
  if (err instanceof TaskRequestRejectedError) return EXIT.rejected;
  if (err instanceof UnknownTaskError || err instanceof UnknownCheckpointError) return EXIT.unknownTask;
  return EXIT.failure;
}

export async function main(argv: string[] = process.argv): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    process.exitCode = exitForError(err);
  }
}
