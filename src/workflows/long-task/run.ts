/**
 * One workflow run of a task: the spec and plan it works from, the state it carries to the next run,
 * and what lives only in this run (running units, requests not yet acted on). Every module of the
 * engine takes a `TaskRun`; nothing else is shared between them.
 */
import type { ModelUsage } from '../../shared/model-usage';
import { ApplicationFailure, type CancellationScope } from '@temporalio/workflow';
import { appendActivity, type ActivityKind } from '../../shared/activity-log';
import type { CheckpointRecord, CheckpointType } from '../../shared/checkpoints';
import { durabilityPolicy, type DurabilityPolicy } from '../../shared/durability';
import { FailureType } from '../../shared/errors';
import type { FailureKind } from '../../shared/failures';
import { transition, type LifecycleState } from '../../shared/lifecycle';
import { taskLimitsOf, type TaskLimits } from '../../shared/limits';
import type { ItemProgress } from '../../shared/progress';
import type { UnitPlan } from '../../shared/scheduling';
import { taskSpecSchema, type PlannedStep, type TaskSpec, type TaskSpecInput } from '../../shared/spec';
import type { StepOutput } from '../../shared/step-io';
import { buildPlan, type TaskPlan } from '../../shared/task-plan';
import {
  newCarriedState,
  upgradeCarried,
  type AnyCarriedState,
  type CarriedState,
  type StoppedStep,
} from '../../shared/task-state';
import type { ArtifactRef } from '../../shared/step-io';
import { issuesOf } from '../../shared/validation';

export interface LongTaskInput {
  spec: TaskSpecInput;
  /** State carried over from the previous run (continue-as-new, or `continueTask`); absent on the first run. */
  carried?: AnyCarriedState;
  /**
   * Mirror state into longrun's search attributes. Off only for servers that cannot register custom
   * search attributes (Temporal's time-skipping test server). @default true
   */
  searchAttributes?: boolean;
  /** Set by `continueTask`: this run continues a task that stopped at a limit, extended by `byMs`. */
  continued?: { byMs: number; reason: string };
}

/** How a unit of work ended. */
export type StepOutcome =
  | { kind: 'completed'; output: StepOutput }
  /** Stopped on purpose (pause, cancel, checkpoint, handover): resume from here. */
  | { kind: 'stopped'; stopped: StoppedStep }
  /** Its worker shut down on its last attempt, or its last attempt lost its worker: not a failure. */
  | { kind: 'interrupted'; stopped: StoppedStep; lostWorker: boolean; message: string }
  /** Its attempts are behind it. */
  | { kind: 'failed'; failureKind: FailureKind; message: string; attempt: number | null; error: Error }
  /** A fan-out knows its items. */
  | { kind: 'fan-ready'; total: number; artifact: ArtifactRef | null }
  /** Its input cannot be built (a `$from` or `forEach` that does not resolve): the task cannot go on. */
  | { kind: 'invalid'; message: string };

/** A unit of work this run started and has not seen end. */
export interface RunningUnit {
  key: string;
  plan: UnitPlan;
  step: PlannedStep;
  item: number | null;
  scope: CancellationScope;
  /** `working`: an activity runs; `waiting`: a durable timer runs (no worker held). */
  status: 'working' | 'waiting';
  startedAt: number;
  /** The reset point before it was scheduled: retrying a failed task from its recovery checkpoint runs it again. */
  resetEventId: number;
  /** Latest item progress it reported. */
  items: ItemProgress | null;
  round: number;
  /** What its current schedule's model calls have used, as last reported (not yet in the task's total). */
  usage: ModelUsage | null;
  /** Why it waits: `quota` while a model provider's quota resets, `approval` for a person's answer. */
  waitReason: 'quota' | 'approval' | 'resources' | null;
  /**
   * Why its worker sent it away (a resources wait, shown as a warning while it waits), since when,
   * how often, and when its latest wait ended (the attempt after it may have been let in).
   */
  sentAway?: { note: string; since: number; times: number; waitedUntil?: number };
}

export interface ManualCheckpoint {
  label: string;
  /** The workflow task that took the request (the record goes in a later one, so a reset keeps it). */
  requestedIn: number;
  record: CheckpointRecord | null;
}

/** Requests accepted and not yet acted on. */
export interface Requests {
  pause: { reason: string; checkpointLabel: string | null } | null;
  resume: string | null;
  cancel: { reason: string; via: 'update' | 'signal' | 'temporal' } | null;
  checkpoints: ManualCheckpoint[];
  limit: { policy: 'pause' | 'stop'; reason: string } | null;
}

export interface LiveState {
  running: Map<string, RunningUnit>;
  /** Outcomes in the order they arrived, waiting to be applied. */
  settled: Array<{ unit: RunningUnit; outcome: StepOutcome }>;
  requests: Requests;
  /** Checkpoints the engine itself owes (phase, milestone, automatic, pre-risky). */
  due: Array<{ type: CheckpointType; label: string }>;
  /** The task cannot go on: why, the step it came from and the reset point before that step was scheduled. */
  failure: { message: string; stepId: string | null; resetEventId: number; error: Error | null } | null;
  /** A critical failure rolls the task back to this checkpoint. */
  rollback: { target: CheckpointRecord; stepId: string } | null;
  /** Units that report no item progress (idle warning), since when. */
  idle: Map<string, number>;
  /** Resumed units that have not reported they started again (the task is `resuming` until then). */
  awaitingStart: Set<string>;
  /** Risky steps whose pre-risky checkpoint this run has recorded. */
  preRisky: Set<string>;
  error: string | null;
  /** Search attribute values last written (each upsert is a history event). */
  lastAttributes: string;
  /** Units started in this run (a run continues as new only after it got somewhere). */
  startedThisRun: number;
  /** Workspace snapshots scheduled and not yet recorded (steps start again once they are). */
  snapshots: Promise<void>[];
}

export interface TaskRun {
  readonly input: LongTaskInput;
  readonly spec: TaskSpec;
  readonly plan: TaskPlan;
  readonly limits: TaskLimits;
  policy: DurabilityPolicy;
  state: CarriedState;
  readonly live: LiveState;
}

/** Workflow time: deterministic inside the sandbox. */
export const now = (): number => Date.now();

function parseSpec(input: TaskSpecInput): TaskSpec {
  const parsed = taskSpecSchema().safeParse(input);
  if (parsed.success) return parsed.data;
  const detail = issuesOf(parsed.error, 'spec')
    .map((i) => `${i.path}: ${i.rule}`)
    .join('; ');
  throw ApplicationFailure.create({ type: FailureType.InvalidSpec, message: detail, nonRetryable: true });
}

export function openRun(input: LongTaskInput): TaskRun {
  const spec = parseSpec(input.spec);
  const limits = taskLimitsOf(spec);
  let state: CarriedState;
  try {
    state = input.carried
      ? upgradeCarried(input.carried, spec, limits)
      : newCarriedState(spec, limits, now());
  } catch (err) {
    throw ApplicationFailure.create({
      type: FailureType.InvalidSpec,
      message: (err as Error).message,
      nonRetryable: true,
    });
  }
  return {
    input,
    spec,
    plan: buildPlan(spec),
    limits,
    policy: policyFor(spec, state),
    state,
    live: {
      running: new Map(),
      settled: [],
      requests: { pause: null, resume: null, cancel: null, checkpoints: [], limit: null },
      due: [],
      failure: null,
      rollback: null,
      idle: new Map(),
      awaitingStart: new Set(),
      preRisky: new Set(),
      error: null,
      lastAttributes: '',
      startedThisRun: 0,
      snapshots: [],
    },
  };
}

export function policyFor(spec: TaskSpec, state: CarriedState): DurabilityPolicy {
  return durabilityPolicy(spec.durability, {
    heartbeatTimeoutMs: spec.heartbeatTimeoutMs,
    hardware: state.hardware,
  });
}

export function move(run: TaskRun, to: LifecycleState, trigger: string): void {
  run.state.lifecycle = transition(run.state.lifecycle, to, trigger, now());
}

export function note(run: TaskRun, kind: ActivityKind, message: string, stepId?: string): void {
  const entry = { at: now(), kind, message, ...(stepId === undefined ? {} : { stepId }) };
  run.state.activity = appendActivity(run.state.activity, entry);
}

/** The innermost cause's message: "Activity task failed" alone says nothing about what went wrong. */
export function failureMessage(err: unknown): string {
  let current: unknown = err;
  while (current instanceof Error && current.cause instanceof Error) current = current.cause;
  return current instanceof Error ? current.message : String(current);
}

/** "step analyze" or "step analyze item 12", for the activity log. */
export function unitName(unit: Pick<RunningUnit, 'step' | 'item'>): string {
  const step = `step ${unit.step.step.id}`;
  return unit.item === null ? step : `${step} item ${unit.item}`;
}
