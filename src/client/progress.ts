/**
 * Progress as a reader sees it: the workflow's answer merged with the heartbeats of its running steps
 * (fresher than the workflow's own reports), and a stream of its changes.
 */
import type { Client, WorkflowExecutionDescription } from '@temporalio/client';
import { decodeArrayFromPayloads } from '@temporalio/common/lib/internal-non-workflow';
import { optionalTsToMs } from '@temporalio/common/lib/time';
import { formatDuration } from '../shared/duration';
import { FAILURE_KINDS } from '../shared/failures';
import {
  itemsOfBeat,
  mergeHeartbeats,
  progressAt,
  withItems,
  type StepBeat,
  type TaskProgress,
} from '../shared/progress';
import { isStepHeartbeat } from '../shared/step-io';
import { beatOf, boardWorkflowId, type BoardEntry } from '../shared/progress-board';
import { hasEnded } from '../shared/lifecycle';
import { liveProgressQuery } from '../workflows/progress-board';
import { ValidationError } from '../shared/validation';
import type { StepRetry, WatchOptions } from './types';

/** The step heartbeats among a task's pending activities. */
export async function heartbeatsOf(
  client: Client,
  description: WorkflowExecutionDescription
): Promise<StepBeat[]> {
  const beats: StepBeat[] = [];
  for (const pending of description.raw.pendingActivities ?? []) {
    if (!pending.heartbeatDetails?.payloads?.length) continue;
    const [details] = await decodeArrayFromPayloads(
      client.options.loadedDataConverter,
      pending.heartbeatDetails.payloads
    );
    if (isStepHeartbeat(details)) beats.push(details);
  }
  return beats;
}

const STEP_FAILURE = /^step (\S+) \((\w+)\): /;

/** The steps among a task's pending activities that failed at least once and are being retried. */
export async function retriesOf(
  client: Client,
  description: WorkflowExecutionDescription
): Promise<StepRetry[]> {
  const retries: StepRetry[] = [];
  for (const pending of description.raw.pendingActivities ?? []) {
    const failure = pending.lastFailure;
    if (!failure?.message || (pending.attempt ?? 1) < 2) continue;
    const typed = STEP_FAILURE.exec(failure.message);
    const kind = FAILURE_KINDS.find((k) => k === typed?.[2]) ?? null;
    let stepId = typed?.[1] ?? null;
    if (stepId === null && pending.heartbeatDetails?.payloads?.length) {
      const [details] = await decodeArrayFromPayloads(
        client.options.loadedDataConverter,
        pending.heartbeatDetails.payloads
      );
      if (isStepHeartbeat(details)) stepId = details.stepId ?? null;
    }
    const next = optionalTsToMs(pending.nextAttemptScheduleTime);
    retries.push({
      stepId,
      kind,
      attempt: pending.attempt ?? 2,
      message: typed ? failure.message.slice(typed[0].length) : failure.message,
      nextAttemptAt: next ?? null,
    });
  }
  return retries;
}

/** `step fetch: attempt 3 in 25s after a resource failure: <message>`, for `longrun status`. */
export function retryWarning(retry: StepRetry, now: number): string {
  const step = retry.stepId === null ? 'a step' : `step ${retry.stepId}`;
  const when =
    retry.nextAttemptAt === null
      ? `on attempt ${retry.attempt}`
      : `attempt ${retry.attempt} in ${formatDuration(Math.max(0, retry.nextAttemptAt - now))}`;
  const after = retry.kind === null ? 'after' : `after a ${retry.kind} failure:`;
  return `${step}: ${when} ${after} ${retry.message}`;
}

/** How long `progress()` waits for the live progress board before it reads heartbeats instead. */
const BOARD_WAIT_MS = 1_500;

/** The task's entries on its queue's live progress board; none when the board is missing or slow. */
export async function liveBeats(client: Client, taskQueue: string, taskId: string): Promise<StepBeat[]> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<BoardEntry[]>((resolve) => {
    timer = setTimeout(() => resolve([]), BOARD_WAIT_MS);
  });
  try {
    const board = client.workflow.getHandle(boardWorkflowId(taskQueue));
    const entries = await Promise.race([board.query(liveProgressQuery, [taskId]), late]);
    return entries.map(beatOf);
  } catch {
    return []; // no board yet (no worker with one has reported), or it did not answer
  } finally {
    clearTimeout(timer);
  }
}

/** Whether a running step of this progress has no live entry, so its heartbeat must be read. */
export function needsHeartbeats(progress: TaskProgress, live: readonly StepBeat[]): boolean {
  if (hasEnded(progress.state)) return false;
  // A task started before engine v2 says only that it executes: its step's beat is the heartbeat.
  if (!progress.running) return progress.state === 'executing' && live.length === 0;
  return progress.running.some((r) => r.state === 'running' && !live.some((b) => b.stepId === r.id));
}

/** A running task's progress as of `now`, with its steps' heartbeats merged in. */
export function withHeartbeats(progress: TaskProgress, beats: StepBeat[], now: number): TaskProgress {
  if (progress.running) return progressAt(mergeHeartbeats(progress, beats, now), now);
  // A task started before engine v2: one running step, whose items the single heartbeat carries.
  const beat = beats[0];
  if (progress.state === 'executing' && beat) {
    const items = itemsOfBeat(beat);
    if (!progress.items || (progress.items.at ?? 0) <= (items.at ?? Number.MAX_SAFE_INTEGER)) {
      return progressAt(withItems(progress, items, now), now);
    }
  }
  return progressAt(progress, now);
}

/**
 * Yields the current progress, then each change (asked every `intervalMs`), and ends after yielding
 * the final progress once `closed()` says the task has ended.
 */
export async function* watchProgress(
  closed: () => Promise<boolean>,
  read: () => Promise<TaskProgress>,
  options: WatchOptions
): AsyncGenerator<TaskProgress, void, void> {
  const intervalMs = options.intervalMs ?? 1_000;
  if (!Number.isFinite(intervalMs) || intervalMs < 50 || intervalMs > 60_000) {
    throw new ValidationError('watch options', [
      { path: 'intervalMs', rule: 'must be between 50 and 60000 ms' },
    ]);
  }
  let previous = '';
  for (;;) {
    if (options.signal?.aborted) return;
    const ended = await closed();
    const progress = await read();
    const key = JSON.stringify([
      progress.state,
      progress.percent,
      progress.items,
      progress.lastCheckpoint,
      progress.step.index,
    ]);
    if (key !== previous || ended) {
      previous = key;
      yield progress;
    }
    if (ended) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, intervalMs);
      options.signal?.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          resolve();
        },
        { once: true }
      );
    });
  }
}
