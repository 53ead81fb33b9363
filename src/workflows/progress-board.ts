/**
 * `progressBoard`: one per task queue (`longrun-progress-<queue>`), started by the first worker that
 * reports. It holds the latest item counts of the steps running on the queue (each worker sends one
 * signal a second) and answers `live` for the client's `progress()`. Its state is only that map, so
 * it continues as new with the map as input whenever its history grows, and ends when idle.
 */
import {
  condition,
  defineQuery,
  defineSignal,
  log,
  makeContinueAsNewFunc,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import {
  applyReport,
  BOARD_IDLE_END_MS,
  boardReportSchema,
  entriesOf,
  type BoardEntries,
  type BoardEntry,
  type BoardReport,
} from '../shared/progress-board';

/** Sent by each worker once a second while its steps report progress. */
export const boardReportSignal = defineSignal<[BoardReport]>('boardReport');
/** The live entries of the given tasks. */
export const liveProgressQuery = defineQuery<BoardEntry[], [string[]]>('live');

export interface ProgressBoardInput {
  entries?: BoardEntries;
}

/** A run continues as new past either (each report is one event of up to a few hundred KB). */
const MAX_RUN_EVENTS = 2_000;
const MAX_RUN_BYTES = 8 * 1024 * 1024;

export async function progressBoard(input: ProgressBoardInput = {}): Promise<void> {
  let board: BoardEntries = input.entries ?? {};
  let reports = 0;
  setHandler(
    boardReportSignal,
    (payload) => {
      const parsed = boardReportSchema().safeParse(payload);
      if (!parsed.success) {
        log.warn('ignored a malformed boardReport signal', { issues: parsed.error.issues.length });
        return;
      }
      board = applyReport(board, parsed.data, Date.now());
      reports++;
    },
    { description: 'A worker reports the item counts of its running steps' }
  );
  setHandler(
    liveProgressQuery,
    (taskIds) => (Array.isArray(taskIds) ? entriesOf(board, taskIds.map(String)) : []),
    { description: 'The latest item counts of the running steps of these tasks' }
  );
  for (;;) {
    const seen = reports;
    const reported = await condition(() => reports !== seen || tooLong(), BOARD_IDLE_END_MS);
    if (tooLong()) break;
    if (!reported && Object.keys(board).length === 0) return; // idle: the next report starts a new one
    if (!reported) board = applyReport(board, { worker: 'board', entries: [], gone: [] }, Date.now());
  }
  // The next run goes to the board's own queue, which is named like its workflow id: a board that an
  // older worker started on the main queue moves over at its first continue-as-new.
  const onOwnQueue = makeContinueAsNewFunc<typeof progressBoard>({ taskQueue: workflowInfo().workflowId });
  await onOwnQueue({ entries: board });
}

function tooLong(): boolean {
  const info = workflowInfo();
  return (
    info.continueAsNewSuggested || info.historyLength >= MAX_RUN_EVENTS || info.historySize >= MAX_RUN_BYTES
  );
}
