import type { ApprovalRequest } from '../shared/approvals';

/**
 * Thrown by `ctx.resumeAfter` (and by `ctx.model.chat` when a quota resets at a known time): ends
 * this attempt; the workflow waits on a durable timer and runs the step again from its cursor. Not an
 * error: `runStep` turns it into a result, so it uses no retry attempt.
 */
export class ResumeAfterSignal extends Error {
  override readonly name = 'ResumeAfterSignal';
  constructor(
    readonly ms: number,
    /** `quota`: a provider's quota resets then; `resources`: the worker is short of them (shown while the task waits). */
    readonly reason?: 'quota' | 'resources',
    /** A line for the task's log. */
    readonly note?: string
  ) {
    super(`resume after ${ms} ms${reason ? ` (${reason})` : ''}`);
  }
}

/**
 * Thrown by `ctx.pauseTask`: ends this attempt and pauses the whole task with `reason`; the step keeps
 * its cursor and runs on from it when someone resumes the task. Not an error either.
 */
export class PauseTaskSignal extends Error {
  override readonly name = 'PauseTaskSignal';
  constructor(readonly reason: string) {
    super(`pause the task: ${reason}`);
  }
}

/**
 * Thrown by `ctx.requestApproval` when the request has no answer yet: ends this attempt; the task
 * waits for a person (holding no worker) and runs the step again from its cursor with the answer.
 */
export class ApprovalSignal extends Error {
  override readonly name = 'ApprovalSignal';
  constructor(readonly request: ApprovalRequest) {
    super(`waiting for approval ${request.id}: ${request.title}`);
  }
}

export function isStepSignal(err: unknown): err is ResumeAfterSignal | PauseTaskSignal | ApprovalSignal {
  return err instanceof ResumeAfterSignal || err instanceof PauseTaskSignal || err instanceof ApprovalSignal;
}
