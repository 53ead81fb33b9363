import type { ActivityEntry } from './activity-log';
import type { CheckpointRecord } from './checkpoints';
import type { FailureRecord } from './failures';
import type { HardwareProfile } from './durability';
import type { LimitWarnings, PhaseClock } from './limits';
import type { LifecycleRecord } from './lifecycle';
import type { ProgressSample } from './samples';

/**
 * Everything a task carries from one workflow run to the next at continue-as-new. Plain JSON with a
 * version; its histories are bounded so the payload stays small however long the task runs.
 */
export interface CarriedState {
  v: 1;
  /** Index of the next step to run. */
  nextStep: number;
  /** Outputs of completed steps that later steps reference (`$from`) or that end up in the result. */
  outputs: Record<string, Record<string, unknown>>;
  /** Cursors of steps stopped part way on purpose, to resume them from when they are scheduled again. */
  cursors: Record<string, unknown>;
  lifecycle: LifecycleRecord;
  checkpoints: CheckpointRecord[];
  /** Sequence number of the last checkpoint id. */
  checkpointSeq: number;
  /** Workflow time of the last `automatic` checkpoint. */
  lastAutomaticAt: number;
  progressHistory: ProgressSample[];
  hardware: HardwareProfile;
  /** 1 for the first run; +1 at each continue-as-new. */
  run: number;
  /** Steps completed in earlier runs and this one. */
  stepsCompleted: number;
  /** The activity log (latest 100); absent in states carried by tasks started before it existed. */
  activity?: ActivityEntry[];
  /** The deadline as extended, epoch ms; null without one; absent: the spec's. */
  deadlineAt?: number | null;
  /** Failure history, newest last (at most 50). */
  failures?: FailureRecord[];
  /** Rollbacks each step has caused (a critical failure rolls back once). */
  rollbacks?: Record<string, number>;
  /** Non-critical steps skipped after failing. */
  skipped?: string[];
  /** Working time of the current phase (absent: a task started before time limits existed). */
  phaseClock?: PhaseClock;
  /** The 75% limit warnings already given. */
  limitWarned?: LimitWarnings;
  /** The running step's idle warning, if it has one. */
  idle?: { stepId: string; since: number } | null;
  /** Sequence number of the last webhook event. */
  notifySeq?: number;
  /** Times each step was scheduled again after its attempts ended with lost workers. */
  lostWorkers?: Record<string, number>;
}
