/**
 * Everything a task carries from one workflow run to the next at continue-as-new: one typed, versioned
 * object, upgraded once on entry (`upgradeCarried`) from the shapes older runs carried. Plain JSON; its
 * lists are bounded and its sets are ranges, so the payload stays small however long the task runs and
 * however many items it fans out over. Pure.
 */
import type { BudgetLimits } from './budget';
import type { ApprovalDecision, PendingApproval } from './approvals';
import type { ModelUsage } from './model-usage';
import type { ModelJournal } from './step-io';
import type { ActivityEntry } from './activity-log';
import type { CheckpointRecord } from './checkpoints';
import type { HardwareProfile } from './durability';
import type { FailureRecord } from './failures';
import { initialDeadline, type LimitMarks, type PhaseClock, type TaskLimits } from './limits';
import { newLifecycle, type LifecycleRecord } from './lifecycle';
import type { Range } from './ranges';
import type { ProgressSample } from './samples';
import type { TaskSpec } from './spec';
import type { ArtifactRef, StepOutput } from './step-io';

/** Where a step (or one fan-out item) stopped part way, to resume it from when it runs again. */
export interface StoppedStep {
  /** The action's cursor (its last checkpoint); null: it had none yet. */
  cursor: unknown;
  /** Model calls it made after that cursor, for the next schedule to reuse. */
  model?: ModelJournal;
  /** Items done of total when it stopped, for progress while it waits to run again. */
  items: { done: number; total: number | null } | null;
  /** What was left of a durable timer it waited on (`longrun.wait`, `repeat`, `ctx.resumeAfter`), ms. */
  waitMs: number | null;
  /** Rounds of a repeating step already completed. */
  round: number;
}

/** A `forEach` step that has started: its items as counts and ranges, never one entry per item. */
export interface FanState {
  total: number;
  /** The artifact holding the items (each sub-step reads its own), or null when they are inline. */
  artifact: ArtifactRef | null;
  done: Range[];
  /** Items that failed for good in a non-critical step (skipped). */
  failed: Range[];
  /** Items stopped part way, by item index. */
  stopped: Record<string, StoppedStep>;
}

/** Why a paused task is paused (carried when a paused task continues as new). */
export interface PauseRecord {
  reason: string;
  at: number;
  /** Paused by a reached limit (`onLimit: "pause"`): it resumes only once extended. */
  limit: boolean;
}

export interface CarriedState {
  v: 2;
  /** 1 for the first run; +1 at each continue-as-new. */
  run: number;
  hardware: HardwareProfile;
  lifecycle: LifecycleRecord;
  pause: PauseRecord | null;
  /** Plan indices of the steps that are done (completed or skipped). */
  done: Range[];
  /** Non-critical steps skipped after failing. */
  skipped: string[];
  /** Outputs of done steps that later steps reference, of milestones and of the last phase. */
  outputs: Record<string, StepOutput>;
  /** Steps stopped part way on purpose (pause, handover, checkpoint, shutdown), by step id. */
  stopped: Record<string, StoppedStep>;
  /** `forEach` steps begun and not done, by step id. */
  fans: Record<string, FanState>;
  /** Times each unit (`step` or `step[item]`) was scheduled again after its worker was lost. */
  lostWorkers: Record<string, number>;
  /** Rollbacks each step has caused (a critical failure rolls back once). */
  rollbacks: Record<string, number>;
  checkpoints: CheckpointRecord[];
  checkpointSeq: number;
  /** Workflow time of the last `automatic` checkpoint. */
  lastAutomaticAt: number;
  progressHistory: ProgressSample[];
  /** The activity log (latest 100). */
  activity: ActivityEntry[];
  /** Failure history, newest last (at most 50). */
  failures: FailureRecord[];
  /** The deadline as extended, epoch ms, or null for none. */
  deadlineAt: number | null;
  /** Working-time clocks of the phases that started and have not finished, by phase index. */
  clocks: Record<string, PhaseClock>;
  /** 75% warnings given and limits acted on. */
  warned: LimitMarks;
  reached: LimitMarks;
  /** Sequence number of the last webhook event. */
  notifySeq: number;
  /** What the task's model calls used in steps that ended a schedule (absent before any). */
  usage?: ModelUsage;
  /** The same by step id (a fan-out's items together), for the first MAX_STEP_USAGE steps that used any. */
  stepUsage?: Record<string, ModelUsage>;
  /** The budget as `extend` raised it (absent: the spec's). */
  budget?: BudgetLimits;
  /** Budget dimensions whose soft threshold has been warned about. */
  budgetWarned?: string[];
  /** Approvals waiting for a person, and the answers given (latest 50). */
  approvals?: { pending: PendingApproval[]; decided: ApprovalDecision[] };
}

/** The state engine v1 carried (tasks started before engine v2 continue as new with it). */
export interface CarriedStateV1 {
  v: 1;
  nextStep: number;
  outputs: Record<string, Record<string, unknown>>;
  cursors: Record<string, unknown>;
  lifecycle: LifecycleRecord;
  checkpoints: CheckpointRecord[];
  checkpointSeq: number;
  lastAutomaticAt: number;
  progressHistory: ProgressSample[];
  hardware: HardwareProfile;
  run: number;
  stepsCompleted: number;
  activity?: ActivityEntry[];
  deadlineAt?: number | null;
  failures?: FailureRecord[];
  rollbacks?: Record<string, number>;
  skipped?: string[];
  phaseClock?: PhaseClock;
  limitWarned?: { task?: number; phase?: string };
  idle?: { stepId: string; since: number } | null;
  notifySeq?: number;
  lostWorkers?: Record<string, number>;
}

export type AnyCarriedState = CarriedState | CarriedStateV1;

/** The state of a task's first run. */
export function newCarriedState(spec: TaskSpec, limits: TaskLimits, now: number): CarriedState {
  return {
    v: 2,
    run: 1,
    hardware: 'standard',
    lifecycle: newLifecycle(now),
    pause: null,
    done: [],
    skipped: [],
    outputs: {},
    stopped: {},
    fans: {},
    lostWorkers: {},
    rollbacks: {},
    checkpoints: [],
    checkpointSeq: 0,
    lastAutomaticAt: now,
    progressHistory: [],
    activity: [],
    failures: [],
    deadlineAt: initialDeadline(spec, limits, now),
    clocks: {},
    warned: { phases: {} },
    reached: { phases: {} },
    notifySeq: 0,
  };
}

export function stoppedAt(cursor: unknown, waitMs: number | null = null): StoppedStep {
  return { cursor, items: null, waitMs, round: 0 };
}

function prefix(count: number): Range[] {
  return count > 0 ? [[0, count - 1]] : [];
}

/** The position a v1 record names: the steps before `stepIndex` done, the step at it from its cursor. */
function upgradeCheckpoint(record: CheckpointRecord): CheckpointRecord {
  if (record.position) return record;
  const stopped: Record<string, StoppedStep> = {};
  if (record.stepId !== null && record.cursor !== null) stopped[record.stepId] = v1Stopped(record.cursor);
  return { ...record, position: { done: prefix(record.stepIndex), stopped, fans: {} } };
}

/** A v1 cursor: an action's cursor, or `{ remainingMs }` of a stopped `longrun.wait`. */
function v1Stopped(cursor: unknown): StoppedStep {
  const remaining = (cursor as { remainingMs?: unknown } | null)?.remainingMs;
  return typeof remaining === 'number' ? stoppedAt(null, remaining) : stoppedAt(cursor);
}

/**
 * The v2 state of any carried state: v2 as it is, v1 converted (its position as ranges, its single
 * phase clock and its warnings kept). Throws for a version it does not know.
 */
export function upgradeCarried(carried: AnyCarriedState, spec: TaskSpec, limits: TaskLimits): CarriedState {
  if (carried.v === 2) return carried;
  if (carried.v !== 1)
    throw new Error(`carried state version ${String((carried as { v: unknown }).v)} is not supported`);
  const stopped: Record<string, StoppedStep> = {};
  for (const [id, cursor] of Object.entries(carried.cursors)) stopped[id] = v1Stopped(cursor);
  return {
    v: 2,
    run: carried.run,
    hardware: carried.hardware,
    lifecycle: carried.lifecycle,
    pause: null,
    done: prefix(carried.nextStep),
    skipped: carried.skipped ?? [],
    outputs: carried.outputs,
    stopped,
    fans: {},
    lostWorkers: carried.lostWorkers ?? {},
    rollbacks: carried.rollbacks ?? {},
    checkpoints: carried.checkpoints.map(upgradeCheckpoint),
    checkpointSeq: carried.checkpointSeq,
    lastAutomaticAt: carried.lastAutomaticAt,
    progressHistory: carried.progressHistory,
    activity: carried.activity ?? [],
    failures: carried.failures ?? [],
    deadlineAt:
      carried.deadlineAt !== undefined
        ? carried.deadlineAt
        : initialDeadline(spec, limits, carried.lifecycle.createdAt),
    clocks: carried.phaseClock ? { [carried.phaseClock.index]: carried.phaseClock } : {},
    warned: {
      ...(carried.limitWarned?.task === undefined ? {} : { task: carried.limitWarned.task }),
      phases: {},
    },
    reached: { phases: {} },
    notifySeq: carried.notifySeq ?? 0,
  };
}
