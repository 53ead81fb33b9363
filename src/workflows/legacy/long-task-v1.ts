import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  TimeoutFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  isCancellation,
  log,
  ParentClosePolicy,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  startChild,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { SearchAttributePair } from '@temporalio/common';
import type { createActivities } from '../../activities';
import { appendActivity, type ActivityEntry, type ActivityKind } from '../../shared/activity-log';
import { pruneCheckpoints, type CheckpointRecord, type CheckpointType } from '../../shared/checkpoints';
import {
  controlRejection,
  extendedDeadline,
  parseControl,
  type ControlKind,
  type ExtendRequest,
} from '../../shared/control';
import { durabilityPolicy, type DurabilityPolicy } from '../../shared/durability';
import { FailureType, NON_RETRYABLE_FAILURE_TYPES } from '../../shared/errors';
import {
  CRASH_RESCHEDULES,
  FAILURE_LOG_LIMIT,
  kindOfFailureType,
  rescheduleAfterLostWorker,
  recoveryDecision,
  type FailureKind,
  type FailureRecord,
} from '../../shared/failures';
import { durations, hasEnded, newLifecycle, transition, type LifecycleState } from '../../shared/lifecycle';
import { newPhaseClock, phaseUsedMs, startClock, stopClock } from '../../shared/limits';
import {
  dueLimitEvents,
  legacyLimitsOf,
  nextLimitCheckAt,
  type LimitEvent,
  type LimitView,
} from './limits-v1';
import {
  currentDetailsMarkdown,
  weightedPercent,
  withItems,
  type ItemProgress,
  type TaskProgress,
} from '../../shared/progress';
import { appendSample } from '../../shared/samples';
import {
  LongrunAgent,
  LongrunDurability,
  LongrunPhase,
  LongrunProgress,
  LongrunState,
} from '../../shared/search-attributes';
import {
  flattenSteps,
  referencedSteps,
  stepTimeoutMs,
  taskSpecSchema,
  WAIT_ACTION,
  waitDurationMs,
  type PlannedStep,
  type TaskSpec,
  type TaskSpecInput,
} from '../../shared/spec';
import { isStepHeartbeat, parseStepProgress, resolveStepInput } from '../../shared/step-io';
import type { CarriedStateV1 as CarriedState } from '../../shared/task-state';
import { issuesOf } from '../../shared/validation';
import { formatDuration } from '../../shared/duration';
import { wantsEvent, type WebhookEventType } from '../../shared/webhooks';
import { deliverWebhook } from '../notify';
import {
  cancelSignal,
  cancelUpdate,
  checkpointSignal,
  checkpointUpdate,
  checkpointsQuery,
  extendSignal,
  extendUpdate,
  failuresQuery,
  lifecycleQuery,
  logsQuery,
  pauseSignal,
  pauseUpdate,
  planQuery,
  progressQuery,
  resultQuery,
  resumeSignal,
  resumeUpdate,
  stepProgressSignal,
  type PartialResult,
} from '../messages';
import { CANCELLED_RESULT_MEMO, FAILURE_MEMO, type LongTaskResult } from '../../shared/task-result';

type Activities = ReturnType<typeof createActivities>;

/** What a run of the v1 engine was started with. */
interface LongTaskInput {
  spec: TaskSpecInput;
  carried?: CarriedState;
  searchAttributes?: boolean;
}

const { describeHardware } = proxyLocalActivities<Activities>({ startToCloseTimeout: '30 seconds' });

/** The innermost cause's message: "Activity task failed" alone says nothing about what went wrong. */
function failureMessage(err: unknown): string {
  let current: unknown = err;
  while (current instanceof Error && current.cause instanceof Error) current = current.cause;
  return current instanceof Error ? current.message : String(current);
}

/** The cursor a stopped step reported: in its cancellation details or its last heartbeat before a timeout. */
function cursorOf(err: ActivityFailure): unknown {
  const cause = err.cause;
  const details =
    cause instanceof CancelledFailure
      ? cause.details[0]
      : cause instanceof TimeoutFailure
        ? cause.lastHeartbeatDetails
        : cause instanceof ApplicationFailure && cause.type === FailureType.WorkerShutdown
          ? cause.details?.[0]
          : undefined;
  return isStepHeartbeat(details) && details.cursor !== null ? details.cursor : undefined;
}

/** The cursor a stopped `longrun.wait` step keeps: how much of its wait is left. */
interface WaitCursor {
  remainingMs: number;
}
function isWaitCursor(value: unknown): value is WaitCursor {
  return typeof value === 'object' && value !== null && typeof (value as WaitCursor).remainingMs === 'number';
}

function parseSpec(input: TaskSpecInput): TaskSpec {
  const parsed = taskSpecSchema().safeParse(input);
  if (parsed.success) return parsed.data;
  const detail = issuesOf(parsed.error, 'spec')
    .map((i) => `${i.path}: ${i.rule}`)
    .join('; ');
  throw ApplicationFailure.create({ type: FailureType.InvalidSpec, message: detail, nonRetryable: true });
}

/**
 * Engine v1, frozen: replays the histories of tasks started before engine v2 (`longTask` routes a run
 * here when its history has no `longrun-engine-v2` marker). Change nothing that issues commands: a
 * running v1 task would fail to replay. Its state moves to v2 at its next continue-as-new.
 */
export async function legacyLongTask(input: LongTaskInput): Promise<LongTaskResult> {
  const spec = parseSpec(input.spec);
  if (input.carried && input.carried.v !== 1) {
    throw ApplicationFailure.create({
      type: FailureType.InvalidSpec,
      message: `carried state version ${String(input.carried.v)} is not supported`,
      nonRetryable: true,
    });
  }
  const steps = flattenSteps(spec);
  const weights = steps.map((s) => s.step.weight);
  const totalWeight = weights.reduce((a, b) => a + b, 0);
  const lastPhase = spec.phases[spec.phases.length - 1];
  const keepOutputs = referencedSteps(spec);
  for (const s of steps) if (s.step.milestone || s.phase === lastPhase) keepOutputs.add(s.step.id);
  const now = (): number => Date.now(); // workflow time: deterministic inside the sandbox

  const state: CarriedState = input.carried ?? {
    v: 1,
    nextStep: 0,
    outputs: {},
    cursors: {},
    lifecycle: newLifecycle(now()),
    checkpoints: [],
    checkpointSeq: 0,
    lastAutomaticAt: now(),
    progressHistory: [],
    hardware: 'standard',
    run: 1,
    stepsCompleted: 0,
  };
  state.activity ??= [];
  state.deadlineAt ??= spec.deadline === undefined ? null : Date.parse(spec.deadline);
  /**
   * Time limits, idle detection and webhooks came with this marker: histories recorded before it
   * replay without them (their tasks keep their old behaviour until they continue as new).
   */
  const limitsOn = patched('longrun-limits-v1');
  const limits = legacyLimitsOf(spec);
  if (limitsOn && state.phaseClock === undefined) {
    // A task adopting limits part way (continued as new from older code) gets its full task limit from now.
    state.deadlineAt ??= null;
    if (state.deadlineAt === null)
      state.deadlineAt = (input.carried ? now() : state.lifecycle.createdAt) + limits.task;
    state.phaseClock = newPhaseClock(
      steps[Math.min(state.nextStep, steps.length - 1)]?.phaseIndex ?? 0,
      now()
    );
    state.limitWarned = {};
  }
  let error: string | null = null;
  let policy: DurabilityPolicy = durabilityPolicy(spec.durability, {
    heartbeatTimeoutMs: spec.heartbeatTimeoutMs,
    hardware: state.hardware,
  });

  // Steering state of this run (never carried: continue-as-new happens only while executing).
  interface Request {
    reason: string;
    /** How a cancel came: update (the typed client follows it with a Temporal cancel), signal, Temporal cancel. */
    via?: 'update' | 'signal' | 'temporal';
  }
  const ctl: {
    /** A pause was accepted; the loop pauses once the running step has stopped. */
    pausing: Request | null;
    resumeRequested: Request | null;
    /** A cancel was accepted (update, signal or a Temporal cancel request). */
    cancelling: Request | null;
    /** The deadline or a phase limit was reached: the task stops and completes with partial results. */
    limit: Request | null;
  } = { pausing: null, resumeRequested: null, cancelling: null, limit: null };
  /** A pause for idleness records a checkpoint once the step has stopped. */
  let pauseCheckpoint: string | null = null;
  /** The server asked this workflow to cancel (`temporal workflow cancel`, or longrun's own request). */
  let cancelRequestedByServer = false;
  /** The running step's scope: cancelling it stops the step (its cursor comes back) without ending the task. */
  let stepScope: CancellationScope | undefined;
  /** Item progress of the running step, from its latest `stepProgress` report. */
  let items: ItemProgress | null = null;

  const move = (to: LifecycleState, trigger: string): void => {
    state.lifecycle = transition(state.lifecycle, to, trigger, now());
  };
  const note = (kind: ActivityKind, message: string, stepId?: string): void => {
    const entry: ActivityEntry = { at: now(), kind, message, ...(stepId === undefined ? {} : { stepId }) };
    state.activity = appendActivity(state.activity ?? [], entry);
  };

  const recordCheckpoint = (type: CheckpointType, label: string): CheckpointRecord => {
    const during = state.lifecycle.state === 'executing';
    if (during) move('checkpointing', `${type} checkpoint`);
    const stepId = steps[state.nextStep]?.step.id ?? null;
    const info = workflowInfo();
    const record: CheckpointRecord = {
      id: `${type}-${++state.checkpointSeq}`,
      type,
      label,
      stepIndex: state.nextStep,
      stepId,
      cursor: stepId === null ? null : (state.cursors[stepId] ?? null),
      runId: info.runId,
      // This workflow task completes with the event right after its WorkflowTaskStarted (historyLength).
      resetEventId: info.historyLength + 1,
      at: now(),
    };
    state.checkpoints = pruneCheckpoints([...state.checkpoints, record]);
    if (during) move('executing', `${type} checkpoint recorded`);
    note(type === 'milestone' ? 'milestone' : 'checkpoint', `${record.id}: ${label}`, stepId ?? undefined);
    return record;
  };

  const progressOf = (): TaskProgress => {
    const current = steps[Math.min(state.nextStep, steps.length - 1)] as PlannedStep;
    const { totalMs, activeMs } = durations(state.lifecycle, now());
    const done = state.lifecycle.state === 'completed';
    const stepsPercent = done ? 100 : weightedPercent(weights, state.stepsCompleted);
    const base: TaskProgress = {
      taskId: spec.taskId,
      agent: spec.agent,
      title: spec.title ?? spec.taskId,
      state: state.lifecycle.state,
      percent: stepsPercent,
      stepsPercent,
      phase: {
        index: current.phaseIndex,
        count: spec.phases.length,
        id: current.phase.id,
        title: current.phase.title ?? current.phase.id,
      },
      step: {
        index: current.index,
        count: steps.length,
        id: current.step.id,
        title: current.step.title ?? current.step.id,
        action: current.step.action,
      },
      stepShare: done ? 0 : (current.step.weight / totalWeight) * 100,
      stepsCompleted: state.stepsCompleted,
      items: null,
      velocity: { percentPerHour: null, itemsPerSecond: null, etaMs: null, confidence: 'low' },
      etaAt: null,
      pausing: ctl.pausing !== null,
      cancelling: ctl.cancelling !== null,
      recent: (state.activity ?? []).slice(-10),
      history: state.progressHistory,
      startedAt: state.lifecycle.createdAt,
      updatedAt: now(),
      completedAt: done ? state.lifecycle.endedAt : null,
      elapsedMs: totalMs,
      activeMs,
      run: state.run,
      lastCheckpoint: state.checkpoints[state.checkpoints.length - 1]?.id ?? null,
      deadline:
        state.deadlineAt === null || state.deadlineAt === undefined
          ? null
          : new Date(state.deadlineAt).toISOString(),
      phaseTime: state.phaseClock
        ? {
            usedMs: phaseUsedMs(state.phaseClock, now()),
            limitMs: limits.phase + state.phaseClock.extraMs,
          }
        : null,
      warnings: warningsOf(),
      error,
    };
    return withItems(base, items, now());
  };

  /** Warnings still in force: an idle step, 75% of the deadline or of the phase limit used. */
  function warningsOf(): string[] {
    if (hasEnded(state.lifecycle.state)) return [];
    const out: string[] = [];
    if (state.idle) {
      out.push(
        `no item progress in step ${state.idle.stepId} for ${formatDuration(now() - state.idle.since)}`
      );
    }
    const deadline = state.deadlineAt;
    if (deadline !== null && deadline !== undefined && state.limitWarned?.task === deadline) {
      out.push(`deadline in ${formatDuration(Math.max(0, deadline - now()))}`);
    }
    const clock = state.phaseClock;
    if (clock && state.limitWarned?.phase === `${clock.index}:${limits.phase + clock.extraMs}`) {
      const left = limits.phase + clock.extraMs - phaseUsedMs(clock, now());
      out.push(`phase ${clock.index + 1} has ${formatDuration(Math.max(0, left))} of its limit left`);
    }
    return out;
  }

  let lastAttributes = '';
  /** Mirrors progress into Current Details and search attributes; call before each await. */
  const publish = (): void => {
    const progress = progressOf();
    setCurrentDetails(currentDetailsMarkdown(progress));
    const pairs: SearchAttributePair[] = [
      { key: LongrunState, value: progress.state },
      { key: LongrunAgent, value: spec.agent },
      { key: LongrunDurability, value: spec.durability },
      { key: LongrunPhase, value: progress.phase.id },
      { key: LongrunProgress, value: Math.floor(progress.percent) },
    ];
    // Each upsert is a history event: only write when a value really changed.
    const key = JSON.stringify(pairs.map((p) => p.value));
    if (input.searchAttributes !== false && key !== lastAttributes) {
      upsertSearchAttributes(pairs);
      lastAttributes = key;
    }
  };

  const partialResult = (): PartialResult => ({
    taskId: spec.taskId,
    state: state.lifecycle.state,
    outputs: state.outputs,
    stepsCompleted: state.stepsCompleted,
    stepCount: steps.length,
    run: state.run,
    lastCheckpoint: state.checkpoints[state.checkpoints.length - 1] ?? null,
    reason: ctl.cancelling?.reason ?? error,
  });

  /**
   * Tells the task's webhooks about an event: one abandoned child workflow per target, so delivery
   * (with its retries) never holds the task up and outlives it. Returns once the deliveries started.
   */
  const notify = async (type: WebhookEventType, data: Record<string, unknown>): Promise<void> => {
    if (!limitsOn) return;
    const targets = spec.webhooks.filter((t) => wantsEvent(t, type));
    if (targets.length === 0) return;
    state.notifySeq = (state.notifySeq ?? 0) + 1;
    // Unique per run (a rollback starts a new run) and stable across the delivery's retries.
    const id = `${spec.taskId}:${type}:${workflowInfo().runId.slice(0, 8)}.${state.notifySeq}`;
    const event = {
      id,
      type,
      taskId: spec.taskId,
      agent: spec.agent,
      at: new Date(now()).toISOString(),
      data,
    };
    await CancellationScope.nonCancellable(() =>
      Promise.all(
        targets.map(async (target, i) => {
          try {
            await startChild(deliverWebhook, {
              args: [{ url: target.url, event }],
              workflowId: `${id}:${i}`,
              parentClosePolicy: ParentClosePolicy.ABANDON,
              staticSummary: `webhook ${type} of ${spec.taskId}`,
            });
          } catch (err) {
            note('error', `webhook ${type} to ${target.url} not started: ${failureMessage(err)}`);
          }
        })
      )
    );
  };
  /** Starts deliveries without waiting for them to start (for events raised inside handlers). */
  const notifyLater = (type: WebhookEventType, data: Record<string, unknown>): void => {
    void notify(type, data);
  };

  const limitView = (): LimitView => ({
    now: now(),
    startedAt: state.lifecycle.createdAt,
    deadlineAt: state.deadlineAt ?? null,
    phase: state.phaseClock ?? newPhaseClock(0, now()),
    phaseLimitMs: limits.phase,
    warned: state.limitWarned ?? {},
  });
  const limitKey = (): string => JSON.stringify([state.deadlineAt, state.phaseClock, state.limitWarned]);
  const onLimitEvent = (ev: LimitEvent): void => {
    if (ev.kind === 'task-warning' || ev.kind === 'phase-warning') {
      state.limitWarned = {
        ...state.limitWarned,
        ...(ev.kind === 'task-warning' ? { task: ev.key } : { phase: ev.key }),
      };
      note('warning', ev.message);
      notifyLater('task.deadline', {
        level: 'warning',
        message: ev.message,
        deadline: progressOf().deadline,
      });
    } else if (ctl.limit === null && ctl.cancelling === null) {
      ctl.limit = { reason: ev.message };
      note('warning', `${ev.message}: stopping with a final checkpoint and partial results`);
      stepScope?.cancel();
    }
    publish();
  };
  /**
   * Watches the deadline and the phase limit: one timer for the next moment a warning or a limit can
   * be due, re-armed when the deadline, the phase clock or the task's state change.
   */
  const watchLimits = async (): Promise<void> => {
    while (!ended() && ctl.limit === null) {
      for (const ev of dueLimitEvents(limitView(), formatDuration)) onLimitEvent(ev);
      if (ctl.limit !== null) return;
      const at = nextLimitCheckAt(limitView());
      const key = limitKey();
      const changed = (): boolean => limitKey() !== key || ended() || ctl.limit !== null;
      if (at === null) await condition(changed);
      else await condition(changed, Math.max(1, at - now()));
    }
  };

  setHandler(progressQuery, progressOf, {
    description: 'Percent, state, phase, step, items, velocity, ETA, recent activity, progress history',
  });
  setHandler(checkpointsQuery, () => state.checkpoints, {
    description: 'Named checkpoints to roll back to, oldest first',
  });
  setHandler(
    lifecycleQuery,
    () => ({
      ...state.lifecycle,
      ...durations(state.lifecycle, now()),
      progressHistory: state.progressHistory,
    }),
    { description: 'Lifecycle state, transition log, total and active time, progress history' }
  );
  setHandler(failuresQuery, () => state.failures ?? [], {
    description: 'Failure history: step, kind, message, attempt, time, decision (skip, rollback, fail)',
  });
  setHandler(logsQuery, () => state.activity ?? [], {
    description: 'The activity log: steps, checkpoints, milestones, errors, control requests (latest 100)',
  });
  setHandler(resultQuery, partialResult, {
    description: 'Outputs so far and the latest checkpoint; after a cancel, the partial results',
  });
  setHandler(
    planQuery,
    () =>
      steps.map((s) => ({
        index: s.index,
        id: s.step.id,
        phaseId: s.phase.id,
        action: s.step.action,
        title: s.step.title ?? s.step.id,
      })),
    { description: 'The steps of the task in order' }
  );

  // --- Steering: each operation is an update (validated, answered) and a signal (fire and forget). ---

  /** Throws, with a message naming the field or the state, when the task refuses the request. */
  const check = (kind: ControlKind, payload: unknown): void => {
    const parsed = parseControl(kind, payload);
    if (!parsed.ok) throw new Error(parsed.message);
    const refusal = controlRejection(
      kind,
      {
        state: state.lifecycle.state,
        pausing: ctl.pausing !== null,
        cancelling: ctl.cancelling !== null,
        deadline: state.deadlineAt ?? null,
        phaseLimit: false,
        limitReached: null,
      },
      now(),
      payload
    );
    if (refusal !== null) throw new Error(refusal);
  };
  const reasonOf = (payload: unknown, fallback: string): string => {
    const reason = (payload as { reason?: unknown } | undefined)?.reason;
    return typeof reason === 'string' && reason.trim() !== '' ? reason.trim() : fallback;
  };

  const applyPause = (payload: unknown): void => {
    ctl.pausing = { reason: reasonOf(payload, 'pause requested') };
    note('control', `pause requested: ${ctl.pausing.reason}`);
    stepScope?.cancel();
    publish();
  };
  const applyResume = (payload: unknown): void => {
    const reason = reasonOf(payload, 'resume requested');
    if (state.lifecycle.state === 'paused') ctl.resumeRequested = { reason };
    else ctl.pausing = null; // not paused yet: the pause is withdrawn and the step runs on from its cursor
    note('control', `resume requested: ${reason}`);
    publish();
  };
  const applyCancel = (payload: unknown, via: 'update' | 'signal' = 'signal'): void => {
    ctl.cancelling = { reason: reasonOf(payload, 'cancel requested'), via };
    note('control', `cancel requested: ${ctl.cancelling.reason}`);
    stepScope?.cancel();
    publish();
  };
  const applyExtend = (payload: unknown): void => {
    const before = state.deadlineAt as number;
    state.deadlineAt = extendedDeadline(before, payload as ExtendRequest);
    // The current phase's limit moves by as much as the deadline.
    if (state.phaseClock) {
      state.phaseClock = {
        ...state.phaseClock,
        extraMs: state.phaseClock.extraMs + state.deadlineAt - before,
      };
    }
    const by = formatDuration(state.deadlineAt - before);
    note(
      'control',
      `deadline extended by ${by} to ${new Date(state.deadlineAt).toISOString()}: ${reasonOf(payload, 'extend requested')}`
    );
    publish();
  };
  const applyCheckpoint = (payload: unknown): CheckpointRecord => {
    const record = recordCheckpoint('manual', (payload as { label: string }).label.trim());
    publish();
    return record;
  };
  /** Waits, in any scope, until `fn` holds; control handlers answer once their request took effect. */
  const settled = (fn: () => boolean): Promise<void> => CancellationScope.nonCancellable(() => condition(fn));
  const ended = (): boolean => hasEnded(state.lifecycle.state);

  setHandler(
    pauseUpdate,
    async (payload) => {
      applyPause(payload);
      await settled(
        () => state.lifecycle.state === 'paused' || ctl.pausing === null || ctl.cancelling !== null || ended()
      );
      return progressOf();
    },
    {
      validator: (payload) => check('pause', payload),
      description: 'Pause: the running step stops at its next item and keeps its cursor. {"reason": "..."}',
    }
  );
  setHandler(
    resumeUpdate,
    async (payload) => {
      applyResume(payload);
      await settled(() => state.lifecycle.state !== 'paused');
      return progressOf();
    },
    {
      validator: (payload) => check('resume', payload),
      description: 'Resume a paused task from where its step stopped. {"reason": "..."}',
    }
  );
  setHandler(
    cancelUpdate,
    async (payload) => {
      applyCancel(payload, 'update');
      await settled(ended);
      return progressOf();
    },
    {
      validator: (payload) => check('cancel', payload),
      description: 'Cancel: final checkpoint, partial results kept, state cancelled. {"reason": "..."}',
    }
  );
  setHandler(
    extendUpdate,
    (payload) => {
      applyExtend(payload);
      return progressOf();
    },
    {
      validator: (payload) => check('extend', payload),
      description: 'Move the deadline: {"by": "2h"} or {"until": "2026-12-01T00:00:00Z"}',
    }
  );
  setHandler(checkpointUpdate, applyCheckpoint, {
    validator: (payload) => check('checkpoint', payload),
    description: 'Record a manual checkpoint now: {"label": "..."}',
  });

  /** A signal runs the same checks; a refused one changes nothing and is noted in the activity log. */
  const signalled = (kind: ControlKind, apply: (payload: unknown) => unknown) => (payload?: unknown) => {
    try {
      check(kind, payload);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      note('control', `ignored ${kind} signal: ${message}`);
      log.warn('ignored control signal', { taskId: spec.taskId, kind, reason: message });
      return;
    }
    apply(payload);
  };
  setHandler(pauseSignal, signalled('pause', applyPause), { description: 'Fire-and-forget pause' });
  setHandler(resumeSignal, signalled('resume', applyResume), { description: 'Fire-and-forget resume' });
  setHandler(
    cancelSignal,
    signalled('cancel', (payload) => applyCancel(payload, 'signal')),
    { description: 'Fire-and-forget cancel' }
  );
  setHandler(extendSignal, signalled('extend', applyExtend), { description: 'Fire-and-forget extend' });
  setHandler(checkpointSignal, signalled('checkpoint', applyCheckpoint), {
    description: 'Fire-and-forget manual checkpoint',
  });
  setHandler(
    stepProgressSignal,
    (payload) => {
      // Checked since engine v2: a malformed report (anyone may send this signal) used to fail the
      // workflow task again and again. Ignoring it adds no command, so recorded histories replay.
      const parsed = parseStepProgress(payload);
      if (!parsed.ok) {
        log.warn('ignored a malformed stepProgress signal', { reason: parsed.why });
        return;
      }
      const report = parsed.report;
      if (state.lifecycle.state !== 'executing' || steps[state.nextStep]?.step.id !== report?.stepId) return;
      items = {
        done: report.done,
        total: report.total,
        rate: report.rate,
        at: report.at,
        ...(report.note === undefined ? {} : { note: report.note }),
      };
      if (report.idle && limitsOn) onIdle(report.stepId, report.idle);
      const progress = progressOf();
      state.progressHistory = appendSample(state.progressHistory, {
        at: now(),
        percent: progress.percent,
        stepsCompleted: state.stepsCompleted,
        activeMs: progress.activeMs,
      });
      publish();
    },
    { description: 'Item progress of the running step (sent by the step itself)' }
  );

  /** A step's idle level changed (no item progress for the idle limits; heartbeats do not count). */
  function onIdle(stepId: string, idle: { level: 'active' | 'warning' | 'pause'; idleMs: number }): void {
    const since = now() - idle.idleMs;
    if (idle.level === 'active') {
      if (state.idle) note('info', `step ${stepId} is making progress again`, stepId);
      state.idle = null;
      return;
    }
    state.idle = { stepId, since: state.idle?.since ?? since };
    const forMs = formatDuration(idle.idleMs);
    if (idle.level === 'warning') {
      note('warning', `no item progress in step ${stepId} for ${forMs} (heartbeats only)`, stepId);
      notifyLater('task.idle', { level: 'warning', stepId, idleMs: idle.idleMs });
    } else if (ctl.pausing === null && ctl.cancelling === null && ctl.limit === null) {
      note('warning', `no item progress in step ${stepId} for ${forMs}: checkpoint and pause`, stepId);
      notifyLater('task.idle', { level: 'pause', stepId, idleMs: idle.idleMs });
      ctl.pausing = { reason: `idle: no item progress in step ${stepId} for ${forMs}` };
      pauseCheckpoint = `idle: paused after ${forMs} without progress in step ${stepId}`;
      stepScope?.cancel();
    }
  }

  // A cancel request from the server (`temporal workflow cancel`) takes the same graceful path.
  CancellationScope.current().cancelRequested.catch(() => {
    cancelRequestedByServer = true;
    if (ctl.cancelling === null) {
      ctl.cancelling = { reason: 'cancel requested through Temporal', via: 'temporal' };
      note('control', 'cancel requested through Temporal');
    }
  });

  /** A `longrun.wait` step: a durable timer in the workflow itself; a pause keeps the time left. */
  const waitStep = async (
    stepId: string,
    stepInput: Record<string, unknown>
  ): Promise<Record<string, unknown>> => {
    const ms = waitDurationMs(stepInput);
    const cursor = state.cursors[stepId];
    const remaining = isWaitCursor(cursor) ? cursor.remainingMs : ms;
    const started = now();
    // A durable timer is not work: the phase's clock stops while it runs.
    if (state.phaseClock) state.phaseClock = stopClock(state.phaseClock, now());
    try {
      await sleep(remaining);
    } catch (err) {
      if (isCancellation(err))
        state.cursors[stepId] = { remainingMs: Math.max(0, remaining - (now() - started)) };
      throw err;
    } finally {
      if (state.phaseClock && state.lifecycle.state === 'executing') {
        state.phaseClock = startClock(state.phaseClock, now());
      }
    }
    return { waitedMs: ms };
  };

  /** Any other step: one `runStep` activity, resuming from a carried-over cursor if it has one. */
  const activityStep = async (planned: PlannedStep, stepInput: Record<string, unknown>) => {
    const { phase, step } = planned;
    const { runStep } = proxyActivities<Activities>({
      summary: `${phase.title ?? phase.id} > ${step.title ?? step.id}`,
      startToCloseTimeout: stepTimeoutMs(spec, step.timeout),
      heartbeatTimeout: policy.heartbeatTimeoutMs,
      cancellationType: 'WAIT_CANCELLATION_COMPLETED',
      retry: {
        initialInterval: policy.retry.initialIntervalMs,
        backoffCoefficient: policy.retry.backoffCoefficient,
        maximumInterval: policy.retry.maximumIntervalMs,
        // The SDK treats an absent maximumAttempts as unlimited; 0 is rejected.
        ...(policy.retry.maximumAttempts > 0 ? { maximumAttempts: policy.retry.maximumAttempts } : {}),
        nonRetryableErrorTypes: NON_RETRYABLE_FAILURE_TYPES,
      },
    });
    const cursor = state.cursors[step.id];
    const result = await runStep({
      taskId: spec.taskId,
      phaseId: phase.id,
      stepId: step.id,
      action: step.action,
      input: stepInput,
      context: spec.context,
      artifactBackup: policy.artifactBackup,
      ...(cursor === undefined ? {} : { cursor }),
      ...(limitsOn
        ? {
            limits: { idleWarningMs: limits.idleWarning, idlePauseMs: limits.idlePause, tools: limits.tools },
          }
        : {}),
    });
    return result.output;
  };

  /** Runs a step in its own cancellation scope, so a pause or cancel can stop just the step. */
  const runStoppable = async (planned: PlannedStep, stepInput: Record<string, unknown>) => {
    const scope = new CancellationScope();
    stepScope = scope;
    try {
      return await scope.run(() =>
        planned.step.action === WAIT_ACTION
          ? waitStep(planned.step.id, stepInput)
          : activityStep(planned, stepInput)
      );
    } finally {
      stepScope = undefined;
    }
  };

  /** Paused until resumed or cancelled; paused time does not count as active time. */
  const pauseHere = async (reason: string): Promise<void> => {
    if (pauseCheckpoint !== null) recordCheckpoint('manual', pauseCheckpoint);
    pauseCheckpoint = null;
    move('paused', reason);
    ctl.pausing = null;
    state.idle = null;
    if (state.phaseClock) state.phaseClock = stopClock(state.phaseClock, now());
    const stepId = steps[state.nextStep]?.step.id;
    const cursor = stepId === undefined ? undefined : state.cursors[stepId];
    note(
      'control',
      `paused${stepId ? ` at step ${stepId}` : ''}${cursor === undefined ? '' : ` (cursor ${JSON.stringify(cursor)})`}`,
      stepId
    );
    items = null;
    publish();
    await notify('task.paused', { reason, stepId: stepId ?? null, cursor: cursor ?? null });
    await settled(() => ctl.resumeRequested !== null || ctl.cancelling !== null || ctl.limit !== null);
    if (ctl.cancelling !== null || ctl.limit !== null) return;
    if (state.phaseClock) state.phaseClock = startClock(state.phaseClock, now());
    const why = ctl.resumeRequested?.reason ?? 'resume requested';
    ctl.resumeRequested = null;
    move('resuming', why);
    move('executing', 'resumed');
    note('control', `resumed: ${why}`, stepId);
  };

  if (!input.carried) {
    move('planning', 'task started');
    note(
      'info',
      `task started: ${steps.length} steps in ${spec.phases.length} phases, ${spec.durability} durability`
    );
    publish();
    try {
      state.hardware = (await describeHardware()).profile;
    } catch (err) {
      if (!isCancellation(err)) throw err; // cancelled while planning: the loop below stops the task
    }
    policy = durabilityPolicy(spec.durability, {
      heartbeatTimeoutMs: spec.heartbeatTimeoutMs,
      hardware: state.hardware,
    });
    move('executing', `plan ready: ${steps.length} steps in ${spec.phases.length} phases`);
  }

  if (limitsOn) {
    // Not cancellable: a cancel request must not end the watch with an unhandled rejection.
    void CancellationScope.nonCancellable(watchLimits);
  }

  let stepsThisRun = 0;
  /** The reset point before the running step was scheduled: a retry of a failed task starts there. */
  let stepResetEventId = 0;
  while (state.nextStep < steps.length && ctl.cancelling === null && ctl.limit === null) {
    if (ctl.pausing !== null) {
      await pauseHere(ctl.pausing.reason);
      continue;
    }
    const planned = steps[state.nextStep] as PlannedStep;
    const { phase, step } = planned;

    const info = workflowInfo();
    const historyFull =
      info.continueAsNewSuggested ||
      (policy.continueAsNewAfterEvents > 0 && info.historyLength >= policy.continueAsNewAfterEvents);
    if (historyFull && stepsThisRun > 0) {
      publish();
      await condition(allHandlersFinished);
      if (ctl.pausing === null && ctl.cancelling === null) {
        log.info('continuing as new', {
          taskId: spec.taskId,
          run: state.run,
          historyLength: info.historyLength,
        });
        note('info', `continued as new: run ${state.run + 1} (history had ${info.historyLength} events)`);
        // The spec as given (without filled-in defaults) keeps the carried payload small.
        return await continueAsNew<typeof legacyLongTask>({
          ...input,
          carried: { ...state, run: state.run + 1 },
        });
      }
      continue; // a pause or cancel arrived while handlers finished: handle it first
    }

    if (now() - state.lastAutomaticAt >= policy.automaticCheckpointEveryMs) {
      recordCheckpoint('automatic', `automatic, before step ${step.id}`);
      state.lastAutomaticAt = now();
    }
    if (step.risky) recordCheckpoint('pre-risky', `before risky step ${step.id}`);

    let stepInput: Record<string, unknown>;
    try {
      stepInput = resolveStepInput(step.input, state.outputs);
    } catch (err) {
      error = `step ${step.id}: ${failureMessage(err)}`;
      move('failed', error);
      note('error', error, step.id);
      publish();
      throw ApplicationFailure.create({ type: FailureType.InvalidSpec, message: error, nonRetryable: true });
    }
    if (state.phaseClock && state.phaseClock.index !== planned.phaseIndex) {
      state.phaseClock = newPhaseClock(planned.phaseIndex, now());
    }
    stepResetEventId = workflowInfo().historyLength + 1;
    const resumeCursor = state.cursors[step.id];
    note(
      'step',
      `step ${planned.index + 1}/${steps.length} ${step.id} (${step.action}) ${resumeCursor === undefined ? 'started' : `resumed from cursor ${JSON.stringify(resumeCursor)}`}`,
      step.id
    );
    publish();
    const stepStartedAt = now();
    let output: Record<string, unknown> | undefined;
    let skippedThisStep = false;
    let failedWith: unknown;
    try {
      output = await runStoppable(planned, stepInput);
    } catch (err) {
      if (isCancellation(err)) {
        if (err instanceof ActivityFailure) {
          const cursor = cursorOf(err);
          if (cursor !== undefined) state.cursors[step.id] = cursor;
        }
        items = null;
        // Stopped for a pause or cancel (or a pause withdrawn before it took effect): the loop decides.
        continue;
      }
      // Anything but a failed activity is a bug in workflow code: let the workflow task retry.
      if (!(err instanceof ActivityFailure)) throw err;
      const cursor = cursorOf(err);
      if (cursor !== undefined) state.cursors[step.id] = cursor;
      if (
        limitsOn &&
        err.cause instanceof ApplicationFailure &&
        err.cause.type === FailureType.WorkerShutdown
      ) {
        // Worker restarts used up the step's attempts: not a failure of the step. Schedule it again.
        note(
          'info',
          `step ${step.id} stopped by worker shutdowns on its last attempt: scheduled again`,
          step.id
        );
        items = null;
        continue;
      }
      const lostWorker = err.cause instanceof TimeoutFailure && err.cause.timeoutType === 'HEARTBEAT';
      const lost = state.lostWorkers?.[step.id] ?? 0;
      if (limitsOn && rescheduleAfterLostWorker(lostWorker, lost)) {
        state.lostWorkers = { ...state.lostWorkers, [step.id]: lost + 1 };
        note(
          'warning',
          `step ${step.id}: its last attempt lost its worker (heartbeat timeout); scheduled again from its cursor (${lost + 1} of ${CRASH_RESCHEDULES})`,
          step.id
        );
        items = null;
        continue;
      }
      // The step's attempts are behind it: skip it, roll back to a checkpoint, or stop.
      const cause = err.cause;
      const kind: FailureKind =
        cause instanceof ApplicationFailure
          ? (kindOfFailureType(cause.type) ?? 'permanent')
          : cause instanceof TimeoutFailure
            ? 'transient'
            : 'permanent';
      const detail: unknown = cause instanceof ApplicationFailure ? cause.details?.[0] : undefined;
      const attempt =
        typeof detail === 'object' &&
        detail !== null &&
        typeof (detail as { attempt?: unknown }).attempt === 'number'
          ? (detail as { attempt: number }).attempt
          : null;
      const target = [...state.checkpoints].reverse().find((c) => c.stepIndex <= state.nextStep);
      const rollbacks = state.rollbacks?.[step.id] ?? 0;
      const decision = recoveryDecision({
        kind,
        critical: step.critical,
        hasCheckpoint: target !== undefined,
        rollbacks,
      });
      failedWith = err;
      const message = failureMessage(err);
      const record: FailureRecord = { at: now(), stepId: step.id, kind, message, attempt, decision };
      state.failures = [...(state.failures ?? []), record].slice(-FAILURE_LOG_LIMIT);
      if (decision === 'skip') {
        note('error', `step ${step.id} skipped (not critical) after a ${kind} failure: ${message}`, step.id);
        state.skipped = [...(state.skipped ?? []), step.id];
        skippedThisStep = true;
      } else if (decision === 'rollback' && target !== undefined) {
        note('error', `step ${step.id}: ${kind} failure, rolling back to ${target.id}: ${message}`, step.id);
        state.rollbacks = { ...state.rollbacks, [step.id]: rollbacks + 1 };
        state.nextStep = target.stepIndex;
        state.stepsCompleted = Math.min(state.stepsCompleted, target.stepIndex);
        state.cursors =
          target.stepId !== null && target.cursor !== null ? { [target.stepId]: target.cursor } : {};
        items = null;
        publish();
        continue;
      }
    }
    if (skippedThisStep) {
      delete state.cursors[step.id];
      items = null;
      state.nextStep++;
      state.stepsCompleted++;
      stepsThisRun++;
      const next = steps[state.nextStep];
      if (!next || next.phase !== phase) recordCheckpoint('phase', `end of phase ${phase.id}`);
      continue;
    }
    if (output === undefined) {
      const message = state.failures?.[state.failures.length - 1]?.message ?? 'step failed';
      error = `step ${step.id} failed: ${message}`;
      note('error', error, step.id);
      const recovery = recordCheckpoint('recovery', `retry point: step ${step.id} failed`);
      if (limitsOn) {
        // Retrying from the recovery checkpoint schedules the failed step again (a reset to before it).
        recovery.resetEventId = stepResetEventId;
        state.checkpoints = state.checkpoints.map((c) => (c.id === recovery.id ? recovery : c));
      }
      move('failed', error);
      publish();
      log.error('step failed', { taskId: spec.taskId, stepId: step.id, error });
      if (limitsOn) {
        const last = state.failures?.[state.failures.length - 1] ?? null;
        // Dead letters: the failure and where to retry from, readable without a worker.
        upsertMemo({
          [FAILURE_MEMO]: {
            error,
            failure: last,
            recoveryCheckpoint: recovery,
            checkpoints: state.checkpoints,
            failedAt: now(),
          },
        });
        await notify('task.failed', { error, failure: last, recoveryCheckpoint: recovery.id });
      }
      throw failedWith as Error;
    }

    if (keepOutputs.has(step.id)) state.outputs[step.id] = output;
    delete state.cursors[step.id];
    items = null;
    state.nextStep++;
    state.stepsCompleted++;
    stepsThisRun++;
    note('step', `step ${step.id} completed in ${formatDuration(now() - stepStartedAt)}`, step.id);
    state.progressHistory = appendSample(state.progressHistory, {
      at: now(),
      percent: weightedPercent(weights, state.stepsCompleted),
      stepsCompleted: state.stepsCompleted,
      activeMs: durations(state.lifecycle, now()).activeMs,
    });
    if (step.milestone) recordCheckpoint('milestone', `after milestone step ${step.id}`);
    const next = steps[state.nextStep];
    if (!next || next.phase !== phase) recordCheckpoint('phase', `end of phase ${phase.id}`);
  }

  if (ctl.cancelling !== null) return await stopCancelled(ctl.cancelling);
  if (ctl.limit !== null) return await stopAtLimit(ctl.limit.reason);

  move('completing', 'all steps done');
  move('completed', 'result ready');
  note('info', 'task completed');
  publish();
  await notify('task.completed', summaryOf(resultOf('completed')));
  await condition(allHandlersFinished);
  log.info('task completed', { taskId: spec.taskId, runs: state.run });
  return resultOf('completed');

  /** What a webhook says about a result: no outputs (they can be large), the facts. */
  function summaryOf(result: LongTaskResult): Record<string, unknown> {
    const facts: Record<string, unknown> = { ...result, outputSteps: Object.keys(result.outputs) };
    delete facts.outputs;
    return facts;
  }

  /**
   * The deadline or a phase limit was reached: a final checkpoint holding the stopped step's cursor,
   * then the task completes with the results it has (not a silent kill). Extend it to avoid this.
   */
  async function stopAtLimit(reason: string): Promise<LongTaskResult> {
    const stepId = steps[state.nextStep]?.step.id ?? 'end';
    recordCheckpoint('manual', `final checkpoint: ${reason} during step ${stepId}`);
    if (state.lifecycle.state === 'paused') {
      move('resuming', reason);
      move('executing', reason);
    }
    move('completing', reason);
    move('completed', `partial result: ${reason}`);
    const remaining = steps.length - state.stepsCompleted;
    note('warning', `completed with partial results (${remaining} steps not run): ${reason}`);
    publish();
    const result = { ...resultOf('partial', reason), stepsRemaining: remaining };
    await notify('task.completed', { ...summaryOf(result), partial: true });
    await settled(allHandlersFinished);
    log.warn('task stopped at its limit', { taskId: spec.taskId, reason });
    return result;
  }

  function resultOf(final: LongTaskResult['state'], reason?: string): LongTaskResult {
    const times = durations(state.lifecycle, now());
    return {
      taskId: spec.taskId,
      state: final,
      outputs: state.outputs,
      startedAt: state.lifecycle.createdAt,
      completedAt: state.lifecycle.endedAt ?? now(),
      totalMs: times.totalMs,
      activeMs: times.activeMs,
      runs: state.run,
      stepsCompleted: state.stepsCompleted,
      ...(state.skipped?.length ? { skipped: state.skipped } : {}),
      ...(reason === undefined ? {} : { reason }),
    };
  }

  /**
   * The graceful end of a cancelled task: a final checkpoint holding the stopped step's cursor, then
   * state cancelled. The workflow ends as Canceled in Temporal when the server has a cancel request for
   * it: `temporal workflow cancel`, or the one the typed client sends right after its `cancel` update
   * (waited for up to 10 s; a workflow cannot request its own cancellation). A cancel by signal alone,
   * or by a bare update, completes the workflow with a result of state `cancelled`.
   */
  async function stopCancelled(request: Request): Promise<LongTaskResult> {
    const stepId = steps[state.nextStep]?.step.id ?? 'end';
    recordCheckpoint('manual', `final checkpoint: cancelled during step ${stepId}`);
    move('cancelled', request.reason);
    note('control', `cancelled: ${request.reason}`);
    publish();
    await settled(allHandlersFinished);
    if (!cancelRequestedByServer && request.via === 'update') {
      await CancellationScope.nonCancellable(() => condition(() => cancelRequestedByServer, '10 seconds'));
    }
    const result = resultOf('cancelled', request.reason);
    if (cancelRequestedByServer) {
      // A Canceled workflow carries no result: the memo keeps it, readable without a worker.
      upsertMemo({ [CANCELLED_RESULT_MEMO]: result });
      throw new CancelledFailure(request.reason);
    }
    return result;
  }
}
