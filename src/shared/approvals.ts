/**
 * Approvals: a step (or a `longrun.approval` step) asks a person to approve or reject before it goes
 * on. The task waits durably, holding no worker, until someone answers (`longrun approve|reject`, the
 * client, the `approve` and `reject` updates) or the deadline passes, when the default outcome (reject
 * unless the request says otherwise) applies. A warning comes before the deadline. Pure.
 */
import { z } from 'zod';
import { lazy } from './lazy';
import { durationSchema } from './duration-schema';

export const APPROVAL_ACTION = 'longrun.approval';
export const DEFAULT_APPROVAL_TIMEOUT_MS = 24 * 3_600_000;

/** What a step asks (`ctx.requestApproval`, or a `longrun.approval` step's input). */
export const approvalRequestSchema = lazy(() =>
  z.strictObject({
    /** Names the request within its step: the answer is given, and later found, by it. */
    id: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,100}$/, 'must be 1 to 100 letters, digits, ".", "_" or "-"')
      .default('approval'),
    /** What the person is asked, in a line. */
    title: z.string().trim().min(1, 'must not be empty').max(500),
    details: z.string().max(4_000).optional(),
    /** How long the task waits for an answer. @default "24h" */
    timeout: durationSchema(1_000, 30 * 86_400_000).default(DEFAULT_APPROVAL_TIMEOUT_MS),
    /** How long before the deadline the warning goes out. @default a quarter of the timeout, at most 1h */
    warnBefore: durationSchema(0, 30 * 86_400_000).optional(),
    /** The outcome when nobody answers in time. @default "reject" */
    onTimeout: z.enum(['approve', 'reject']).default('reject'),
  })
);
export type ApprovalRequestInput = z.input<ReturnType<typeof approvalRequestSchema>>;
export type ApprovalRequest = z.output<ReturnType<typeof approvalRequestSchema>>;

/** A `longrun.approval` step's input: the request, and what a rejection does to the task. */
export const approvalStepInputSchema = lazy(() =>
  approvalRequestSchema().extend({
    /** `fail`: the step fails (permanently); `continue`: it completes with `approved: false`. */
    onReject: z.enum(['fail', 'continue']).default('fail'),
  })
);

export interface PendingApproval {
  id: string;
  /** The unit that asked (`step` or `step[item]`). */
  unit: string;
  stepId: string;
  title: string;
  details?: string;
  requestedAt: number;
  expiresAt: number;
  warnAt: number;
  onTimeout: 'approve' | 'reject';
  warned: boolean;
}

export interface ApprovalDecision {
  id: string;
  unit: string;
  stepId: string;
  title: string;
  decision: 'approved' | 'rejected';
  /** Who answered, as they said; `timeout` when nobody did. */
  by: string;
  note?: string;
  at: number;
  timedOut: boolean;
}

/** The `approve` and `reject` updates' payload. */
export const approvalAnswerSchema = lazy(() =>
  z.strictObject({
    /** Which pending approval; may be left out when only one is pending. */
    id: z.string().min(1).max(100).optional(),
    /** The step that asked, when two steps ask with the same id. */
    stepId: z.string().min(1).max(200).optional(),
    /** Who answers (shown in the log). */
    by: z.string().trim().min(1).max(200).optional(),
    note: z.string().max(2_000).optional(),
  })
);
export type ApprovalAnswer = z.input<ReturnType<typeof approvalAnswerSchema>>;

/** The pending approval a valid answer names, or why the answer is refused. */
export function pendingFor(
  pending: readonly PendingApproval[],
  answer: ApprovalAnswer
): { ok: true; approval: PendingApproval } | { ok: false; why: string } {
  const list = pending.map((p) => `${p.id} (step ${p.stepId})`).join(', ');
  if (pending.length === 0) return { ok: false, why: 'the task has no pending approval' };
  const matches = pending.filter(
    (p) =>
      (answer.id === undefined || p.id === answer.id) &&
      (answer.stepId === undefined || p.stepId === answer.stepId)
  );
  if (matches.length === 1) return { ok: true, approval: matches[0] as PendingApproval };
  if (matches.length === 0)
    return {
      ok: false,
      why: `id: no pending approval ${JSON.stringify(answer.id ?? '')}${answer.stepId ? ` in step ${answer.stepId}` : ''}; pending: ${list}`,
    };
  return { ok: false, why: `id: ${pending.length} approvals are pending, name one: ${list}` };
}

/**
 * Why an answer to `pending` is refused at `now`, or null: from its deadline on, the default outcome
 * is what applies, though the task was paused then and has not applied it yet.
 */
export function lateAnswer(pending: PendingApproval, now: number): string | null {
  if (now < pending.expiresAt) return null;
  const deadline = new Date(pending.expiresAt).toISOString();
  return `approval ${pending.id} (step ${pending.stepId}) expired at ${deadline}: too late to answer; ${pending.onTimeout} by default`;
}

export function pendingApproval(
  request: ApprovalRequest,
  unit: string,
  stepId: string,
  now: number
): PendingApproval {
  const expiresAt = now + request.timeout;
  const warnBefore = request.warnBefore ?? Math.min(3_600_000, Math.floor(request.timeout / 4));
  return {
    id: request.id,
    unit,
    stepId,
    title: request.title,
    ...(request.details === undefined ? {} : { details: request.details }),
    requestedAt: now,
    expiresAt,
    warnAt: Math.max(now, expiresAt - warnBefore),
    onTimeout: request.onTimeout,
    warned: false,
  };
}
