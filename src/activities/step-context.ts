import { Context } from '@temporalio/activity';
import { join } from 'node:path';
import { CancelledFailure } from '@temporalio/common';
import type { Artifacts } from '../runtime/artifact-store';
import {
  isStepHeartbeat,
  MAX_NOTE_CHARS,
  type StepHeartbeat,
  type StepProgressReport,
  type StepRequest,
} from '../shared/step-io';
import { DEFAULT_IDLE_MS, idleLevel, type IdleLevel } from '../shared/limits';
import { DEFAULT_QUOTA_WAIT_MS, DEFAULT_TOOL_TIMEOUTS_MS, type ToolClass } from '../shared/spec';
import { parseDuration } from '../shared/duration';
import { itemRate, type ItemSample } from '../shared/velocity';
import { DEFAULT_MAX_CHECKPOINT_INTERVAL_MS } from '../shared/durability';
import { entryKey, type LiveProgress } from '../shared/progress-board';
import { PermanentError } from './errors';
import { watchStepResources, type StepResourceGate } from './resource-gate';
import { runningSteps } from './running-steps';
import { execLimited, type ChildLimits } from './child-process';
import { ApprovalSignal, PauseTaskSignal, ResumeAfterSignal } from './step-signals';
import { callWithLimit } from './time-limit';
import { approvalRequestSchema } from '../shared/approvals';
import { issuesOf } from '../shared/validation';
import { stepProgressSignal } from '../workflows/messages';
import type { LlmClient } from './llm/llm-client';
import type { PriceTable } from '../shared/model-usage';
import { createModelContext, type OwnedModelContext } from './model/model-context';
import { ModelRecords } from './model/records';
import { activityKeyOf, newerState, writeStepState } from './step-state';

export type { StepContext, ItemCursor } from './step-context-api';
import type { StepContext, ItemCursor } from './step-context-api';

/**
 * Under its worker's heartbeat budget a step hands the SDK its latest details at most this often and
 * the SDK's throttle (`heartbeatEveryMs`) sends one per interval; past the budget the context itself
 * hands them over once per stretched cadence (each heartbeat is one RPC and one server write). A step
 * that reports nothing still heartbeats: it proves the worker is alive and lets a pause or cancel
 * reach the step, which only learns of it from a heartbeat response.
 */
export const HEARTBEAT_HANDOFF_MS = 100;

/** A step that reports nothing still heartbeats this often (or at its stretched cadence). */
export const KEEPALIVE_MS = 1_000;

/** How long a step may run synchronous work before `yieldIfBusy` gives the event loop a turn. */
export const YIELD_AFTER_MS = 20;

export interface StepContextDeps {
  artifacts: Artifacts;
  workDir: string;
  /** @default `<workDir>/tmp` */
  tempDir?: string;
  /**
   * How often the step reports its item progress to the workflow (a signal, so the `progress` query,
   * the Web UI's current details and the `LongrunProgress` search attribute follow a long step); 0
   * turns it off. The client reads fresher item progress from heartbeats. @default 30000
   */
  progressSignalMs?: number;
  /** The worker's LLM client and price table, for `ctx.model`; unset: `ctx.model.chat` refuses. */
  model?: { client: LlmClient | undefined; prices: PriceTable };
  /** This activity's details as the step saved them in its work folder (newer than the server's after a crash). */
  saved?: StepHeartbeat;
  /** The worker's resources: steps wait, fail early or report less often under pressure. */
  resources?: StepResourceGate;
  /** Caps of the commands `ctx.exec` runs (the action's `limits`). */
  childLimits?: ChildLimits;
  /** The worker's live progress board: fresh item counts for clients, and the heartbeat budget. */
  live?: LiveProgress;
  /** How often the step heartbeats while the worker is under its budget. @default 1000 */
  heartbeatEveryMs?: number;
}

/** The context plus what `runStep` needs to end it. */
export interface OwnedStepContext extends StepContext {
  /** Stops the context's timers and hands over the latest checkpoint. */
  dispose(): void;
  /** The latest heartbeat details (cursor and item progress). */
  lastHeartbeat(): StepHeartbeat;
  /** Throws when the worker's resources or the work folder's quota say the step must stop now. */
  checkResources(): Promise<void>;
  readonly model: OwnedModelContext;
}

export function createStepContext(request: StepRequest, deps: StepContextDeps): OwnedStepContext {
  const activity = Context.current();
  const previous = newerState(activity.info.heartbeatDetails, deps.saved);
  // A retry of this schedule resumes from its own last heartbeat; a fresh schedule from the request's cursor.
  let cursor: unknown = (isStepHeartbeat(previous) ? previous.cursor : request.cursor) ?? undefined;
  const who = { stepId: request.stepId, ...(request.item ? { item: request.item.index } : {}) };
  let last: StepHeartbeat = isStepHeartbeat(previous)
    ? { ...previous, ...who }
    : { ...who, cursor: cursor ?? null, done: 0, total: null };
  const inherited = isStepHeartbeat(previous) ? previous.model : undefined;
  const activityKey = activityKeyOf(activity.info);
  const model = createModelContext({
    client: deps.model?.client,
    prices: deps.model?.prices ?? {},
    records: new ModelRecords(deps.artifacts),
    signal: activity.cancellationSignal,
    replay: inherited?.journal ?? request.model,
    usage: inherited?.usage,
    quotaWaitMs: request.limits?.quotaWaitMs ?? DEFAULT_QUOTA_WAIT_MS,
    budget: request.budget,
    onBudgetWarning: () => report(),
    async onCall() {
      last = { ...last, ...keep() };
      send();
      // The heartbeat may reach the server much later: the file holds this call at once.
      await writeStepState(deps.workDir, activityKey, last).catch(() => undefined);
    },
  });
  /** What every new copy of the details keeps: timing, a higher `seq`, the model journal. */
  function keep(): Pick<StepHeartbeat, 'at' | 'rate' | 'seq' | 'model'> {
    const state = model.state();
    return {
      ...(last.at === undefined ? {} : { at: last.at }),
      ...(last.rate === undefined ? {} : { rate: last.rate }),
      seq: (last.seq ?? 0) + 1,
      ...(state ? { model: state } : {}),
    };
  }

  // Idle detection: heartbeats prove the worker is alive, not that the step gets anywhere. Only item
  // progress (a new count, cursor or note) resets this clock.
  let lastProgressAt = Date.now();
  let idle: IdleLevel = 'active';
  const idleWarningMs = request.limits?.idleWarningMs ?? DEFAULT_IDLE_MS.warning;
  const idlePauseMs = request.limits?.idlePauseMs ?? DEFAULT_IDLE_MS.pause;
  const moved = (done: number, next: unknown, note: string | undefined): void => {
    if (done !== last.done || next !== last.cursor || note !== last.note) {
      lastProgressAt = Date.now();
      if (idle !== 'active') {
        idle = 'active';
        report({ level: 'active', idleMs: 0 });
      }
    }
  };
  const checkIdle = (): void => {
    const level = idleLevel(lastProgressAt, Date.now(), idleWarningMs, idlePauseMs);
    if (level === idle || level === 'active') return;
    idle = level;
    report({ level, idleMs: Date.now() - lastProgressAt });
  };

  const heartbeatTimeoutMs = activity.info.heartbeatTimeoutMs || undefined;
  const floorMs = Math.min(
    deps.heartbeatEveryMs ?? DEFAULT_MAX_CHECKPOINT_INTERVAL_MS,
    heartbeatTimeoutMs ? Math.round(heartbeatTimeoutMs * 0.8) : Number.MAX_SAFE_INTEGER
  );
  const cadenceMs = (): number => deps.live?.cadenceMs(floorMs, heartbeatTimeoutMs) ?? floorMs;
  // Under the budget the SDK's own throttle (the floor) spaces the RPCs and the context hands it fresh
  // details every 100 ms; past it the context itself spaces them at the stretched cadence.
  const handoffGapMs = (): number => {
    const cadence = cadenceMs();
    return cadence > floorMs ? cadence : HEARTBEAT_HANDOFF_MS;
  };
  const keepAliveMs = (): number => Math.max(cadenceMs(), KEEPALIVE_MS);
  const liveKey = entryKey({ taskId: request.taskId, stepId: request.stepId, item: request.item?.index });
  /** The latest counts to the worker's board, which sends them on within a second. */
  const toBoard = (): void =>
    deps.live?.update({
      taskId: request.taskId,
      stepId: request.stepId,
      ...(request.item ? { item: request.item.index } : {}),
      done: last.done,
      total: last.total,
      ...(last.note === undefined ? {} : { note: last.note.slice(0, MAX_NOTE_CHARS) }),
      rate: last.rate ?? null,
      at: Date.now(),
    });
  toBoard();

  let lastHandoff = 0;
  let lastYield = performance.now();
  let flushTimer: NodeJS.Timeout | undefined;
  const samples: ItemSample[] = [];
  const handOff = (): void => {
    if (flushTimer) clearTimeout(flushTimer);
    flushTimer = undefined;
    const at = Date.now();
    lastHandoff = at;
    if (samples.length === 0 || samples[samples.length - 1]?.done !== last.done) {
      samples.push({ at, done: last.done });
      if (samples.length > 64) samples.splice(0, samples.length - 64);
    }
    last = { ...last, at, rate: itemRate(samples) };
    activity.heartbeat(last);
  };
  // Checked four times a second: a timer that fires a millisecond early must not skip a whole beat.
  const keepAlive = setInterval(() => {
    if (Date.now() - lastHandoff >= keepAliveMs()) handOff();
    checkIdle();
  }, 250).unref();

  // Item progress for the workflow itself, at a slow cadence (each report is a history event).
  let reported = -1;
  let reportedCalls = 0;
  function report(idleChange?: StepProgressReport['idle'], started = false): void {
    const usage = model.state()?.usage;
    const calls = usage ? usage.calls + usage.reused : 0;
    if (last.done === reported && calls === reportedCalls && idleChange === undefined && !started) return;
    reported = last.done;
    reportedCalls = calls;
    const payload: StepProgressReport = {
      stepId: request.stepId,
      ...(request.item ? { item: request.item.index } : {}),
      ...(started ? { started } : {}),
      done: last.done,
      total: last.total,
      rate: last.rate ?? null,
      at: Date.now(),
      ...(last.note === undefined ? {} : { note: last.note.slice(0, MAX_NOTE_CHARS) }),
      ...(idleChange === undefined ? {} : { idle: idleChange }),
      ...(usage ? { usage } : {}),
    };
    const { workflowId } = activity.info.workflowExecution ?? { workflowId: request.taskId };
    // Progress reports never hold up, fail or crash a step: no client (a test double), a closed
    // connection or a finished workflow only mean this report is lost.
    try {
      activity.client.workflow
        .getHandle(workflowId)
        .signal(stepProgressSignal, payload)
        .catch(() => undefined);
    } catch {
      // no client available
    }
  }
  // A resumed step says so at once: the task is `resuming` until its steps run again.
  if (request.resumed) report(undefined, true);
  // A degraded worker reports less often (each report is an RPC and a history event).
  const progressSignalMs = deps.progressSignalMs ?? 30_000;
  let reporter: NodeJS.Timeout | undefined;
  const nextReport = (): void => {
    const factor = deps.resources?.progressFactor() ?? 1;
    reporter = setTimeout(() => {
      report();
      nextReport();
    }, progressSignalMs * factor).unref();
  };
  if (progressSignalMs > 0) nextReport();

  // The worker's resources and the work folder's quota: checked at the start and every checkpoint.
  const watch = watchStepResources({
    stepId: request.stepId,
    workDir: deps.workDir,
    essential: request.limits?.essential === true,
    ...(request.limits?.workDiskBytes === undefined ? {} : { workDiskBytes: request.limits.workDiskBytes }),
    ...(deps.resources ? { gate: deps.resources } : {}),
    beforeStop: () => {
      if (flushTimer) handOff();
    },
  });
  const stopIfShort = (): void => watch.check();
  const dispose = (): void => {
    clearInterval(keepAlive);
    clearTimeout(reporter);
    watch.dispose();
    deps.live?.remove(liveKey);
    if (flushTimer) handOff();
  };
  const send = (): void => {
    toBoard();
    const wait = lastHandoff + handoffGapMs() - Date.now();
    if (wait <= 0) handOff();
    else flushTimer ??= setTimeout(handOff, wait).unref();
  };
  void activity.cancelled.catch(() => {
    if (flushTimer) clearTimeout(flushTimer);
    clearInterval(keepAlive);
    clearTimeout(reporter);
    watch.dispose();
    deps.live?.remove(liveKey);
  });

  const ctx: OwnedStepContext = {
    dispose,
    lastHeartbeat: () => last,
    async checkResources() {
      await watch.measure();
      watch.check();
    },
    taskId: request.taskId,
    stepId: request.stepId,
    item: request.item?.index ?? null,
    round: request.round ?? 0,
    attempt: activity.info.attempt,
    cursor,
    signal: activity.cancellationSignal,
    artifacts: deps.artifacts,
    model,
    context: request.context ?? {},
    workDir: deps.workDir,
    tempDir: deps.tempDir ?? join(deps.workDir, 'tmp'),
    checkpoint(next, done = last.done, total = last.total, note) {
      moved(done, next, note);
      cursor = next;
      model.startSegment();
      last = { ...who, cursor: next, done, total, ...keep(), ...(note === undefined ? {} : { note }) };
      send();
      const running = runningSteps.get(deps.workDir);
      if (running) running.checkpointAt = Date.now();
      stopIfShort(); // the cursor is saved: a step sent away here loses nothing
    },
    progress(done, total, note) {
      moved(done, last.cursor, note);
      last = {
        ...who,
        cursor: cursor ?? null,
        done,
        total,
        ...keep(),
        ...(note === undefined ? {} : { note }),
      };
      send();
    },
    flushCheckpoint() {
      if (flushTimer) handOff();
    },
    throwIfCancelled() {
      if (activity.cancellationSignal.aborted) {
        if (flushTimer) handOff(); // the latest cursor also reaches the server's heartbeat record
        throw new CancelledFailure(`step ${request.stepId} stopped`, [last]);
      }
      stopIfShort();
    },
    async yieldIfBusy() {
      if (performance.now() - lastYield < YIELD_AFTER_MS) return;
      await new Promise((resolve) => setImmediate(resolve));
      lastYield = performance.now();
      ctx.throwIfCancelled();
    },
    async *checkpointed<T>(
      items: readonly T[] | AsyncIterable<T>,
      note?: (item: T, index: number) => string
    ) {
      const total = Array.isArray(items) ? items.length : null;
      const start = startIndex(cursor, total ?? Number.MAX_SAFE_INTEGER);
      ctx.progress(start, total);
      let index = 0;
      for await (const item of items as AsyncIterable<T>) {
        if (index++ < start) continue; // already done by an earlier attempt
        await ctx.yieldIfBusy(); // a loop over an array awaits only microtasks: nothing else would run
        ctx.throwIfCancelled();
        yield item;
        ctx.checkpoint({ next: index } satisfies ItemCursor, index, total, note?.(item, index - 1));
      }
    },
    resumeAfter(duration) {
      throw new ResumeAfterSignal(parseDuration(duration));
    },
    pauseTask(reason) {
      throw new PauseTaskSignal(reason.slice(0, MAX_NOTE_CHARS));
    },
    requestApproval(input) {
      const parsed = approvalRequestSchema().safeParse(input);
      if (!parsed.success) {
        const why = issuesOf(parsed.error, 'approval').map((i) => `${i.path}: ${i.rule}`);
        return Promise.reject(new PermanentError(`step ${request.stepId}: ${why.join('; ')}`));
      }
      const answer = request.approvals?.[parsed.data.id];
      if (answer) return Promise.resolve(answer);
      if (flushTimer) handOff();
      return Promise.reject(new ApprovalSignal(parsed.data));
    },
    exec(command, args = [], opts = {}) {
      return execLimited(
        command,
        args,
        {
          cwd: deps.workDir,
          timeoutMs: request.limits?.tools.shell ?? DEFAULT_TOOL_TIMEOUTS_MS.shell,
          ...deps.childLimits,
          ...opts,
        },
        activity.cancellationSignal
      );
    },
    tool<T>(kind: ToolClass, fn: (signal: AbortSignal) => Promise<T>, timeoutMs?: number): Promise<T> {
      const limit = timeoutMs ?? request.limits?.tools[kind] ?? DEFAULT_TOOL_TIMEOUTS_MS[kind];
      return callWithLimit(
        `${kind} tool call in step ${request.stepId}`,
        limit,
        activity.cancellationSignal,
        fn
      );
    },
  };
  return ctx;
}

function startIndex(cursor: unknown, length: number): number {
  if (typeof cursor === 'object' && cursor !== null && typeof (cursor as ItemCursor).next === 'number') {
    return Math.min(Math.max(0, Math.floor((cursor as ItemCursor).next)), length);
  }
  return 0;
}
