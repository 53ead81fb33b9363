/**
 * What an action sees of its step: the StepContext interface (its implementation, with the timers and
 * heartbeats behind it, is ./step-context.ts).
 */
import type { Artifacts } from '../runtime/artifact-store';
import type { ToolClass } from '../shared/spec';
import type { ApprovalDecision, ApprovalRequestInput } from '../shared/approvals';
import type { ModelContext } from './model/model-context';
import type { ExecOptions, ExecResult } from './child-process';

/** The cursor `StepContext.checkpointed` keeps: the index of the next item to process. */
export interface ItemCursor {
  next: number;
}

/**
 * What an agent action gets: its resume cursor and one-liners for checkpoints, progress and
 * cancellation. One context per attempt of a step.
 */
export interface StepContext<Cursor = unknown> {
  readonly taskId: string;
  readonly stepId: string;
  /** The item index of a `forEach` sub-step, else null. */
  readonly item: number | null;
  /** The round of a repeating step (0 for the first), else 0. */
  readonly round: number;
  /** 1 for the first attempt of this schedule of the step. */
  readonly attempt: number;
  /** Where to resume: the last recorded checkpoint of an earlier attempt, or undefined to start fresh. */
  readonly cursor: Cursor | undefined;
  /** Fires when the step is cancelled, times out or its worker shuts down. */
  readonly signal: AbortSignal;
  /** Content-addressed storage for outputs too big for history; backed up at high durability. */
  readonly artifacts: Artifacts;
  /**
   * Model calls paid for once (`ctx.model.chat(request)`): recorded, reused by an attempt that runs
   * again, counted in the task's usage and cost, and waiting out a known quota reset durably.
   */
  readonly model: ModelContext;
  /** The task's initial context (read-only JSON from the spec). */
  readonly context: Readonly<Record<string, unknown>>;
  /** A scratch folder private to this task and step, kept across attempts on the same machine. */
  readonly workDir: string;
  /**
   * Temporary files of this step (inside `workDir`): emptied when the step fails for lack of a
   * resource (disk full, out of memory) before it is retried. Keep nothing here you cannot recreate.
   */
  readonly tempDir: string;
  /** Records `cursor` as the step's checkpoint (sent to the server at the durability level's cadence). */
  checkpoint(cursor: Cursor, done?: number, total?: number | null, note?: string): void;
  /** Reports item progress without moving the cursor. */
  progress(done: number, total: number | null, note?: string): void;
  /** Hands the latest checkpoint to the SDK now (longrun does this when a step fails or stops). */
  flushCheckpoint(): void;
  /** Throws a `CancelledFailure` if the step has been asked to stop. */
  throwIfCancelled(): void;
  /**
   * Call often inside CPU-heavy work: once the step has held the worker's event loop for
   * `YIELD_AFTER_MS`, lets it run (heartbeats, queries, a shutdown signal), then throws if the step
   * was asked to stop meanwhile. Cheap when it does not yield.
   */
  yieldIfBusy(): Promise<void>;
  /**
   * Iterates `items` (an array or an async iterable) from the resume cursor, checkpointing after each
   * item the loop body finishes: `for await (const file of ctx.checkpointed(files)) { ... }`.
   * The cursor is an `ItemCursor`; items before it are skipped.
   */
  checkpointed<T>(
    items: readonly T[] | AsyncIterable<T>,
    note?: (item: T, index: number) => string
  ): AsyncGenerator<T, void, void>;
  /**
   * Runs one tool call with its class's time limit (the task's `timeouts.tools`, defaults shell 30 s,
   * file 10 s, browser 30 s, search 60 s, or `timeoutMs`). `fn` gets a signal that aborts at the limit
   * or when the step stops; at the limit the call fails as a transient failure (the step is retried).
   */
  tool<T>(kind: ToolClass, fn: (signal: AbortSignal) => Promise<T>, timeoutMs?: number): Promise<T>;
  /**
   * Runs a command (no shell) in a child process in `workDir`, under the action's `limits` (memory,
   * CPU time) or the call's, and the shell tool time limit unless `timeoutMs` says. Passing a cap
   * kills the command's process group and fails the step as a resource failure (temp folder emptied,
   * retried after a wait). The command gets the worker's environment without its secrets.
   */
  exec(command: string, args?: readonly string[], opts?: ExecOptions): Promise<ExecResult>;
  /**
   * Ends this attempt and has the step run again from its latest checkpoint after `duration` ("1h",
   * ms): the workflow waits on a durable timer, holding no worker (polling an outside job, waiting out
   * a quota, a round of monitoring). Checkpoint first. Never returns.
   */
  resumeAfter(duration: string | number): never;
  /**
   * Ends this attempt and pauses the task with `reason` (shown in its log and progress): the step
   * keeps its latest checkpoint and runs on from it when the task is resumed. For what a person must
   * look at first (an agent going round in circles, a budget spent). Checkpoint first. Never returns.
   */
  pauseTask(reason: string): never;
  /**
   * Asks a person to approve or reject (`longrun approve|reject TASK`), and returns the answer. The
   * first call ends this attempt: the task waits for the answer or the deadline (`timeout`, default
   * 24 h; then `onTimeout`, default reject), holding no worker, and runs the step again from its
   * latest checkpoint, where the same call returns the answer at once. Checkpoint first.
   */
  requestApproval(request: ApprovalRequestInput): Promise<ApprovalDecision>;
}
