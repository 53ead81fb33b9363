/**
 * The live progress board: one `progressBoard` workflow per task queue (`longrun-progress-<queue>`)
 * holds the latest item counts of every step running on that queue. Each worker sends it one signal
 * a second with what changed, instead of every step heartbeating once a second, so item progress
 * stays fresh at the client (one query) while the heartbeats (one server write each) follow a
 * per-worker budget. Pure types and functions, used by the workflow, the worker and the client.
 */
import { z } from 'zod';
import { lazy } from './lazy';
import type { StepBeat } from './progress';

export const BOARD_WORKFLOW_TYPE = 'progressBoard';
export const boardWorkflowId = (taskQueue: string): string => `longrun-progress-${taskQueue}`;
/**
 * The board's own task queue, served by a small workflow worker in each longrun worker, so reports
 * and `live` queries never wait behind the queue's longTask activations. It is the board's workflow
 * id (the board's continue-as-new relies on that).
 */
export const boardTaskQueue = boardWorkflowId;

/** How often a worker sends the board what changed, ms. */
export const BOARD_REPORT_MS = 1_000;
/** Entries per signal: a report of more is split (a signal's payload is capped at 2 MB). */
export const BOARD_ENTRIES_PER_SIGNAL = 2_000;
/** An entry no worker refreshed for this long is dropped (its worker died or lost the board). */
export const BOARD_ENTRY_TTL_MS = 5 * 60_000;
/** A board with no entries and no report for this long ends (the next report starts it again). */
export const BOARD_IDLE_END_MS = 10 * 60_000;

const count = () => z.number().finite().nonnegative();

export const boardEntrySchema = lazy(() =>
  z.strictObject({
    taskId: z.string().min(1).max(1_000),
    stepId: z.string().min(1).max(1_000),
    item: z.number().int().nonnegative().optional(),
    done: count(),
    total: count().nullable(),
    note: z.string().max(1_000).optional(),
    rate: z.number().finite().nullable().optional(),
    /** When the step reported these counts, epoch ms. */
    at: count(),
  })
);
export type BoardEntry = z.output<ReturnType<typeof boardEntrySchema>>;

export const boardReportSchema = lazy(() =>
  z.strictObject({
    /** The reporting worker's identity, for the board's log. */
    worker: z.string().min(1).max(1_000),
    entries: z.array(boardEntrySchema()).max(BOARD_ENTRIES_PER_SIGNAL),
    /** Keys (`entryKey`) of steps that ended on that worker since its last report. */
    gone: z.array(z.string().max(3_000)).max(BOARD_ENTRIES_PER_SIGNAL),
  })
);
export type BoardReport = z.output<ReturnType<typeof boardReportSchema>>;

export const entryKey = (e: Pick<BoardEntry, 'taskId' | 'stepId' | 'item'>): string =>
  `${e.taskId}\u0000${e.stepId}\u0000${e.item ?? ''}`;

export type BoardEntries = Record<string, BoardEntry>;

/**
 * The board after a report: newer entries replace older ones (two workers may report one step around
 * a retry, in either order), ended steps leave, and entries older than the TTL are dropped.
 */
export function applyReport(board: BoardEntries, report: BoardReport, now: number): BoardEntries {
  const next: BoardEntries = {};
  for (const [key, entry] of Object.entries(board)) {
    if (now - entry.at <= BOARD_ENTRY_TTL_MS) next[key] = entry;
  }
  for (const key of report.gone) delete next[key];
  for (const entry of report.entries) {
    const key = entryKey(entry);
    const held = next[key];
    if (!held || held.at <= entry.at) next[key] = entry;
  }
  return next;
}

/** The entries of these tasks, as step beats by task id. */
export function entriesOf(board: BoardEntries, taskIds: readonly string[]): BoardEntry[] {
  const wanted = new Set(taskIds);
  return Object.values(board).filter((e) => wanted.has(e.taskId));
}

/** A board entry as the heartbeat-shaped beat `mergeHeartbeats` reads. */
export function beatOf(entry: BoardEntry): StepBeat {
  return {
    stepId: entry.stepId,
    ...(entry.item === undefined ? {} : { item: entry.item }),
    done: entry.done,
    total: entry.total,
    ...(entry.note === undefined ? {} : { note: entry.note }),
    ...(entry.rate === undefined ? {} : { rate: entry.rate }),
    at: entry.at,
  };
}

/** Per step (and fan-out item), the newer of two sources of beats. */
export function newestBeats(a: readonly StepBeat[], b: readonly StepBeat[]): StepBeat[] {
  const byKey = new Map<string, StepBeat>();
  for (const beat of [...a, ...b]) {
    const key = `${beat.stepId ?? ''}\u0000${beat.item ?? ''}`;
    const held = byKey.get(key);
    if (!held || (held.at ?? 0) < (beat.at ?? 0)) byKey.set(key, beat);
  }
  return [...byKey.values()];
}

/**
 * How often a step on a worker running `running` steps hands its heartbeat (cursor and counts) to the
 * server: at least every `floorMs` (the durability level's checkpoint interval), slower when the
 * worker's budget of heartbeats per second would be exceeded, but never slower than half the heartbeat
 * timeout (a step must not be presumed dead). A budget of 0 means no budget.
 */
export function heartbeatCadenceMs(
  running: number,
  budgetPerSecond: number,
  floorMs: number,
  heartbeatTimeoutMs: number | undefined
): number {
  const wanted = budgetPerSecond > 0 ? (Math.max(1, running) / budgetPerSecond) * 1_000 : 0;
  const ceiling = heartbeatTimeoutMs ? Math.max(floorMs, heartbeatTimeoutMs / 2) : Number.MAX_SAFE_INTEGER;
  return Math.round(Math.min(Math.max(floorMs, wanted), ceiling));
}

/** What a step context tells the worker's board reporter. */
export interface LiveProgress {
  /** The step's latest counts (cheap: kept in memory, sent with the next report). */
  update(entry: BoardEntry): void;
  /** The step ended on this worker. */
  remove(key: string): void;
  /** How often a step should heartbeat now, given its floor and heartbeat timeout. */
  cadenceMs(floorMs: number, heartbeatTimeoutMs: number | undefined): number;
}
