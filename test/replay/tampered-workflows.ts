/**
 * A deliberately changed copy of the longTask workflow: it starts a timer before doing anything else.
 * Replaying a history recorded with the real workflow against it must fail with a determinism error.
 */
import { sleep } from '@temporalio/workflow';
import {
  longTask as realLongTask,
  type LongTaskInput,
  type LongTaskResult,
} from '../../src/workflows/long-task';

export { progressQuery } from '../../src/workflows/long-task';

export async function longTask(input: LongTaskInput): Promise<LongTaskResult> {
  await sleep('1 second');
  return realLongTask(input);
}
