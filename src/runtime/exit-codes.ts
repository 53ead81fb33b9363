/**
 * Process exit codes of every `longrun` command. `longrun --help` prints EXIT_CODE_LINES and
 * docs/cli-and-client.md tabulates the same meanings (test/unit/cli-format.test.ts compares them).
 */
import { constants } from 'node:os';

export const EXIT = {
  ok: 0,
  failure: 1,
  badInput: 2,
  unknownTask: 3,
  rejected: 4,
  taskFailed: 5,
  taskCancelled: 6,
  partial: 7,
} as const;

export type ExitName = keyof typeof EXIT;

/** One line per code, as printed by `longrun --help`. */
export const EXIT_MEANINGS: Record<ExitName, string> = {
  ok: 'done; `watch` and `result`: the task completed',
  failure: 'failure: Temporal unreachable, worker not healthy (`health`), `dev`/`worker` could not run',
  badInput: 'bad arguments, options or spec file (the message names the field), checked before connecting',
  unknownTask: 'no task or checkpoint with this id',
  rejected: 'the task refused the request (e.g. resume a running task, retry a task that did not fail)',
  taskFailed: '`watch` and `result`: the task failed, was terminated or timed out',
  taskCancelled: '`watch` and `result`: the task was cancelled (`result` prints its partial results)',
  partial: '`watch` and `result`: the task stopped at its deadline or a phase limit with partial results',
};

/** `worker` and `dev` exit at once with 128 + N on a second shutdown signal N (130 for Ctrl-C). */
export const SIGNAL_EXIT_BASE = 128;

export function signalExitCode(signal: NodeJS.Signals): number {
  return SIGNAL_EXIT_BASE + (constants.signals[signal] ?? 0);
}

export const SIGNAL_EXIT_MEANING =
  '`worker`, `dev`: stopped at once by a second signal N (130: Ctrl-C twice)';

/** The exit code for a task that has ended: by its longrun state first, else its Temporal status. */
export function exitForEnding(execution: string, state: string | undefined): number {
  if (state === 'cancelled' || execution === 'CANCELLED') return EXIT.taskCancelled;
  if (state === 'partial') return EXIT.partial;
  if (execution === 'COMPLETED') return EXIT.ok;
  return EXIT.taskFailed;
}

/** An error that carries its exit code; `main()` prints its message as it is, on one line. */
export class ExitError extends Error {
  override readonly name: string = 'ExitError';
  constructor(
    message: string,
    readonly exitCode: number
  ) {
    super(message);
  }
}

/** "  0  done; ..." lines for `--help`. */
export function exitCodeLines(): string[] {
  const rows = (Object.keys(EXIT) as ExitName[]).map((name) => [String(EXIT[name]), EXIT_MEANINGS[name]]);
  rows.push([`${SIGNAL_EXIT_BASE}+N`, SIGNAL_EXIT_MEANING]);
  const width = Math.max(...rows.map(([code]) => (code as string).length));
  return rows.map(([code, meaning]) => `  ${(code as string).padEnd(width)}  ${meaning as string}`);
}
