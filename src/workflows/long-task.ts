/**
 * A long task: one logical workflow across continue-as-new runs, whose steps form a graph (`needs`,
 * parallel phases, `forEach` fan-outs) run by the engine in `./long-task/` (see its ARCHITECTURE.md).
 * Completed steps are durable in history; inside a step the activity's heartbeat cursor is the
 * checkpoint; named checkpoints record reset points for rollback.
 */
import { CancellationScope, patched } from '@temporalio/workflow';
import type { LongTaskResult } from '../shared/task-result';
import { legacyLongTask } from './legacy/long-task-v1';
import { drive } from './long-task/engine';
import { registerQueries } from './long-task/queries';
import { openRun, type LongTaskInput } from './long-task/run';
import { registerSteering } from './long-task/steering';
import { registerApprovals } from './long-task/approvals';

export * from './messages';
export type { LongTaskInput } from './long-task/run';
export type { LongTaskResult } from '../shared/task-result';

/**
 * Histories recorded before engine v2 have no marker of this name: they replay on engine v1, frozen
 * in `./legacy/`, and move to v2 at their next continue-as-new.
 */
export const ENGINE_V2_PATCH = 'longrun-engine-v2';

export async function longTask(input: LongTaskInput): Promise<LongTaskResult> {
  if (!patched(ENGINE_V2_PATCH)) return legacyLongTask(input as Parameters<typeof legacyLongTask>[0]);
  const run = openRun(input);
  // Handlers before the first await, so no message that came with the first workflow task is lost.
  registerQueries(run);
  registerSteering(run);
  registerApprovals(run);
  // The engine reacts to a Temporal cancel request itself (the cancel path): its own waits and the
  // running steps are only ever cancelled by it.
  return CancellationScope.nonCancellable(() => drive(run));
}
