/**
 * Activities of the longrun worker, built by a factory so their dependencies are injected.
 *
 * @example
 * ```ts
 * const activities = createActivities({ actions: actionRegistry(builtinActions), artifacts, workRoot });
 * await Worker.create({ activities, ... });
 * ```
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Context } from '@temporalio/activity';
import {
  ApplicationFailure,
  ApplicationFailureCategory,
  CancelledFailure,
  TemporalFailure,
} from '@temporalio/common';
import { safeSegment, type ArtifactStore } from '../runtime/artifact-store';
import { describeHardware, type HardwareDescription } from '../runtime/hardware';
import { scrubError } from '../runtime/secrets';
import { FailureType } from '../shared/errors';
import type { StepRequest, StepResult } from '../shared/step-io';
import { issuesOf } from '../shared/validation';
import type { ActionRegistry } from './action';
import { kindOf, toStepFailure } from './errors';
import { createFanOutActivities, resolveWorkerReferences } from './fan-out';
import { createNotifyActivities } from './notify';
import { createWorkspaceActivities } from './workspace';
import { createStepContext } from './step-context';
import type { LlmClient } from './llm/llm-client';
import type { PriceTable } from '../shared/model-usage';
import { activityKeyOf, clearStepState, readStepState } from './step-state';
import { ApprovalSignal, isStepSignal, PauseTaskSignal, ResumeAfterSignal } from './step-signals';
import type { StepResourceGate } from './resource-gate';
import { claimWorkDir, releaseWorkDir, runningSteps, type RunningStep } from './running-steps';
import type { LiveProgress } from '../shared/progress-board';

export interface ActivityDeps {
  actions: ActionRegistry;
  artifacts: ArtifactStore;
  /** Parent folder of every step's scratch folder. */
  workRoot: string;
  /** How often a running step reports item progress to its workflow; 0: never. @default 30000 */
  progressSignalMs?: number;
  /** HMAC secret that signs task webhooks (`X-Longrun-Signature`); unset: unsigned. */
  webhookSecret?: string;
  /** The LLM client and price table behind `ctx.model`; unset: steps cannot call a model. */
  model?: { client: LlmClient; prices: PriceTable };
  /** The worker's resources (its monitor); unset: steps ignore resources. */
  resources?: StepResourceGate;
  /** How long a resource failure waits before its retry, ms. @default 60000 */
  resourceRetryMs?: number;
  /** The worker's live progress board; unset: clients read item counts from heartbeats. */
  live?: LiveProgress;
  /** How often a step heartbeats while the worker is under its heartbeat budget, ms. @default 1000 */
  heartbeatEveryMs?: number;
}

/** `ApplicationFailure.type` of a step stopped because its worker shuts down (the SDK's own name for it). */
const WORKER_SHUTDOWN_FAILURE = FailureType.WorkerShutdown;

/**
 * A step stopped by its worker's shutdown fails retryably rather than as cancelled: the SDK then flushes
 * the step's last heartbeat (its cursor) before it reports, the server keeps that cursor for the retry,
 * and the retry starts at once on another worker whatever the step's backoff.
 */
function workerShutdownFailure(stepId: string, last: unknown): ApplicationFailure {
  return ApplicationFailure.create({
    type: WORKER_SHUTDOWN_FAILURE,
    // The workflow resumes from this cursor should the shutdown come on the step's last attempt.
    details: [last],
    message: `step ${stepId} stopped: its worker (pid ${process.pid}) is shutting down; it resumes from its cursor`,
    nextRetryDelay: '100 milliseconds',
    category: ApplicationFailureCategory.BENIGN,
  });
}

function isNonRetryable(err: unknown): boolean {
  return err instanceof ApplicationFailure && err.nonRetryable === true;
}

export function createActivities(deps: ActivityDeps) {
  return {
    /** Sends one task event to one webhook URL (`sendWebhook`, see ./notify). */
    ...createNotifyActivities({ secret: deps.webhookSecret }),
    /** Snapshots a task's workspace at a checkpoint, or restores it (see ./workspace). */
    ...createWorkspaceActivities({ artifacts: deps.artifacts }),
    /** Counts a fan-out's items in an artifact and gathers its items' outputs (see ./fan-out). */
    ...createFanOutActivities({ artifacts: deps.artifacts }),

    /** Measures the worker's machine once per task (planning) to pick the hardware profile. */
    async describeHardware(): Promise<HardwareDescription> {
      return describeHardware();
    },

    /**
     * Runs one step (or one fan-out item) of a task: looks up its action, replaces the references only a
     * worker can read, validates the input and runs the action with a step context.
     */
    async runStep(request: StepRequest): Promise<StepResult> {
      const action = deps.actions.get(request.action);
      if (!action) {
        throw ApplicationFailure.create({
          type: FailureType.UnknownAction,
          nonRetryable: true,
          message: `step ${request.stepId}: unknown action "${request.action}"; this worker has: ${[...deps.actions.keys()].join(', ')}`,
        });
      }
      const input = await resolveWorkerReferences(deps.artifacts, request.input);
      const parsed = action.input.safeParse(input);
      if (!parsed.success) {
        const issues = issuesOf(parsed.error, 'input');
        throw ApplicationFailure.create({
          type: FailureType.InvalidInput,
          nonRetryable: true,
          message: `step ${request.stepId}${request.item ? ` item ${request.item.index}` : ''} (${request.action}): ${issues.map((i) => `${i.path}: ${i.rule}`).join('; ')}`,
          details: [issues],
        });
      }
      const stepDir = join(deps.workRoot, safeSegment(request.taskId), safeSegment(request.stepId));
      const workDir = request.item ? join(stepDir, String(request.item.index)) : stepDir;
      const tempDir = join(workDir, 'tmp');
      await mkdir(tempDir, { recursive: true });
      await claimWorkDir(workDir); // another worker's cleaner then leaves its temp folder alone
      const activityKey = activityKeyOf(Context.current().info);
      const saved = await readStepState(workDir, activityKey);
      const ctx = createStepContext(request, {
        artifacts: deps.artifacts.withBackup(request.artifactBackup ?? false),
        workDir,
        tempDir,
        ...(deps.progressSignalMs === undefined ? {} : { progressSignalMs: deps.progressSignalMs }),
        ...(deps.model ? { model: deps.model } : {}),
        ...(saved ? { saved } : {}),
        ...(deps.resources ? { resources: deps.resources } : {}),
        ...(action.limits ? { childLimits: action.limits } : {}),
        ...(deps.live ? { live: deps.live } : {}),
        ...(deps.heartbeatEveryMs === undefined ? {} : { heartbeatEveryMs: deps.heartbeatEveryMs }),
      });
      const startedAt = Date.now();
      const item = request.item?.index ?? null;
      const running: RunningStep = {
        state: deps.resources ? 'waiting' : 'running',
        taskId: request.taskId,
        stepId: request.stepId,
        item,
        startedAt,
        checkpointAt: startedAt,
      };
      runningSteps.set(workDir, running);
      let leave: (() => void) | undefined;
      // What this schedule's model calls used travels with every way the step can end.
      const usage = (): Pick<StepResult, 'usage'> => {
        const state = ctx.model.state();
        return state ? { usage: state.usage } : {};
      };
      try {
        if (deps.resources) {
          leave = await deps.resources.admit(Context.current().cancellationSignal);
          running.state = 'running';
          running.checkpointAt = Date.now(); // a wait for a slot risks no work
        }
        await ctx.checkResources(); // a worker short of resources sends the step away before it starts
        const output = await action.run(ctx, parsed.data);
        if (request.item?.keepOutput) {
          await deps.artifacts.putItemOutput(request.taskId, request.stepId, request.item.index, output);
        }
        await clearStepState(workDir, activityKey); // only a retry of this attempt would read it
        // A fan-out item's output reaches later steps through the gather, not through history.
        return { output: request.item ? {} : output, ...usage() };
      } catch (thrown) {
        const err = scrubError(thrown); // no secret leaves the worker in a message or stack trace
        // The action ended its attempt on purpose: the workflow waits (a timer, a person, a resume).
        if (isStepSignal(err)) {
          await clearStepState(workDir, activityKey);
          // Sent away for lack of resources: its scratch files are what a full disk needs back.
          if (err instanceof ResumeAfterSignal && err.reason === 'resources')
            await rm(tempDir, { recursive: true, force: true }).catch(() => undefined);
          const last = ctx.lastHeartbeat();
          const journal = ctx.model.state()?.journal;
          const at = {
            cursor: last.cursor,
            done: last.done,
            total: last.total,
            ...(journal && journal.n > 0 ? { model: journal } : {}),
          };
          const ended: StepResult =
            err instanceof ApprovalSignal
              ? { output: {}, approval: { request: err.request, ...at } }
              : err instanceof PauseTaskSignal
                ? { output: {}, pause: { reason: err.reason, ...at } }
                : {
                    output: {},
                    resumeAfter: {
                      ms: err.ms,
                      ...at,
                      ...(err.reason ? { reason: err.reason } : {}),
                      ...(err.note ? { note: err.note } : {}),
                    },
                  };
          return { ...ended, ...usage() };
        }
        if (Context.current().cancellationDetails?.workerShutdown && !isNonRetryable(err)) {
          throw workerShutdownFailure(request.stepId, ctx.lastHeartbeat());
        }
        // Cancellation and failures already typed (by longrun or the action) pass through as they are.
        if (err instanceof TemporalFailure) throw err;
        // A step stopped (pause, cancel) through `ctx.signal` throws whatever its I/O threw on abort
        // (an AbortError, say): that is a stop, with the cursor, not a failure of the step.
        if (Context.current().cancellationSignal.aborted) {
          throw new CancelledFailure(`step ${request.stepId} stopped`, [ctx.lastHeartbeat()]);
        }
        if (kindOf(err) === 'resource')
          await rm(tempDir, { recursive: true, force: true }).catch(() => undefined);
        throw toStepFailure(
          err,
          request.stepId,
          Context.current().info.attempt,
          usage().usage,
          deps.resourceRetryMs
        );
      } finally {
        leave?.();
        runningSteps.delete(workDir);
        await releaseWorkDir(workDir);
        ctx.dispose(); // hands over the latest cursor too: a retry of this step resumes from it
      }
    },
  };
}

export type LongrunActivities = ReturnType<typeof createActivities>;
export { defineAction, actionRegistry } from './action';
export type { AgentAction, ActionRegistry } from './action';
export type { StepContext, ItemCursor } from './step-context';
export { TransientError, ResourceError, CriticalError, PermanentError } from './errors';
