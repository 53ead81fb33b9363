/**
 * Approvals in the workflow: a unit that asked waits (its phase clock stopped, no worker held) until
 * the `approve` or `reject` update answers or the deadline passes, with a warning before it. The
 * pending request and the answer go to the task's log and webhooks; the answers stay in the state, so
 * a step run again after a pause or a crash finds its answer.
 */
import { condition, isCancellation, setHandler, sleep } from '@temporalio/workflow';
import { ApplicationFailure } from '@temporalio/common';
import {
  approvalAnswerSchema,
  approvalStepInputSchema,
  lateAnswer,
  pendingApproval,
  pendingFor,
  type ApprovalAnswer,
  type ApprovalDecision,
  type ApprovalRequest,
  type PendingApproval,
} from '../../shared/approvals';
import { formatDuration } from '../../shared/duration';
import { issuesOf } from '../../shared/validation';
import { approveUpdate, rejectUpdate } from '../messages';
import { notifyLater } from './notify';
import { publish } from './progress';
import { FailureType } from '../../shared/errors';
import type { StepRequest } from '../../shared/step-io';
import { stoppedAt } from '../../shared/task-state';
import { note, now, type RunningUnit, type StepOutcome, type TaskRun } from './run';

/** Answers kept in the state (the latest; a step asks again only after an answer it has not seen). */
const DECIDED_LIMIT = 50;

function book(run: TaskRun): NonNullable<TaskRun['state']['approvals']> {
  return (run.state.approvals ??= { pending: [], decided: [] });
}

/** The answers a unit has been given, by request id. */
export function decisionsFor(run: TaskRun, unit: string): Record<string, ApprovalDecision> {
  const out: Record<string, ApprovalDecision> = {};
  for (const d of run.state.approvals?.decided ?? []) if (d.unit === unit) out[d.id] = d;
  return out;
}

function decide(
  run: TaskRun,
  pending: PendingApproval,
  decision: ApprovalDecision['decision'],
  by: string,
  note_: string | undefined,
  timedOut: boolean
): ApprovalDecision {
  const approvals = book(run);
  approvals.pending = approvals.pending.filter((p) => p !== pending);
  const answer: ApprovalDecision = {
    id: pending.id,
    unit: pending.unit,
    stepId: pending.stepId,
    title: pending.title,
    decision,
    by,
    ...(note_ === undefined ? {} : { note: note_ }),
    at: now(),
    timedOut,
  };
  approvals.decided = [
    ...approvals.decided.filter((d) => !(d.unit === answer.unit && d.id === answer.id)),
    answer,
  ].slice(-DECIDED_LIMIT);
  const how = timedOut ? `${decision} by default: nobody answered in time` : `${decision} by ${by}`;
  note(
    run,
    'control',
    `approval ${pending.id} (step ${pending.stepId}) ${how}${note_ ? `: ${note_}` : ''}`,
    pending.stepId
  );
  notifyLater(run, 'task.approval', { level: 'answered', ...answer });
  publish(run);
  return answer;
}

/**
 * Waits for the answer to `request`, asked by `unit`: the decision, or null when the unit is stopped
 * first (pause, cancel); the request stays pending with its deadline, for the unit's next run.
 */
export async function awaitApproval(
  run: TaskRun,
  unit: RunningUnit,
  request: ApprovalRequest
): Promise<ApprovalDecision | null> {
  const approvals = book(run);
  const answered = () => decisionsFor(run, unit.key)[request.id];
  let pending = approvals.pending.find((p) => p.unit === unit.key && p.id === request.id);
  if (!pending && !answered()) {
    pending = pendingApproval(request, unit.key, unit.step.step.id, now());
    approvals.pending.push(pending);
    note(
      run,
      'warning',
      `approval ${request.id} needed (step ${pending.stepId}): ${request.title}; answer within ${formatDuration(request.timeout)} with: longrun approve|reject ${run.spec.taskId} --id ${request.id}`,
      pending.stepId
    );
    notifyLater(run, 'task.approval', { level: 'requested', ...pending });
  }
  unit.status = 'waiting';
  unit.waitReason = 'approval';
  publish(run);
  try {
    while (pending && !answered()) {
      if (now() >= pending.expiresAt) {
        decide(
          run,
          pending,
          pending.onTimeout === 'approve' ? 'approved' : 'rejected',
          'timeout',
          undefined,
          true
        );
        break;
      }
      const next = pending.warned ? pending.expiresAt : pending.warnAt;
      await condition(() => !!answered(), Math.max(1, next - now()));
      if (!answered() && !pending.warned && now() >= pending.warnAt) {
        pending.warned = true;
        const left = formatDuration(Math.max(0, pending.expiresAt - now()));
        note(
          run,
          'warning',
          `approval ${pending.id} (step ${pending.stepId}) expires in ${left}: ${pending.onTimeout} by default`,
          pending.stepId
        );
        notifyLater(run, 'task.approval', { level: 'warning', ...pending });
      }
    }
    return answered() ?? null;
  } catch (err) {
    if (isCancellation(err)) return null;
    throw err;
  } finally {
    unit.status = 'working';
    unit.waitReason = null;
  }
}

/**
 * The `approve` and `reject` updates: the validator refuses what names no pending approval, or one
 * whose deadline has passed.
 */
export function registerApprovals(run: TaskRun): void {
  for (const [update, decision] of [
    [approveUpdate, 'approved'],
    [rejectUpdate, 'rejected'],
  ] as const) {
    const target = (payload: ApprovalAnswer | undefined) => {
      const parsed = approvalAnswerSchema().safeParse(payload ?? {});
      if (!parsed.success) {
        return {
          ok: false as const,
          why: issuesOf(parsed.error)
            .map((i) => `${i.path}: ${i.rule}`)
            .join('; '),
        };
      }
      const found = pendingFor(run.state.approvals?.pending ?? [], parsed.data);
      return found.ok ? { ...found, answer: parsed.data } : found;
    };
    setHandler(
      update,
      (payload) => {
        const found = target(payload);
        if (!found.ok) throw ApplicationFailure.nonRetryable(found.why, 'LongrunRequestRefused');
        const { by, note: text } = found.answer;
        return decide(run, found.approval, decision, by ?? 'someone', text, false);
      },
      {
        validator: (payload: ApprovalAnswer | undefined) => {
          const found = target(payload);
          if (!found.ok) throw ApplicationFailure.nonRetryable(found.why, 'LongrunRequestRefused');
          // In the validator alone: it does not run on replay, so answers already in histories stand.
          const late = lateAnswer(found.approval, now());
          if (late !== null) throw ApplicationFailure.nonRetryable(late, 'LongrunRequestRefused');
        },
        description: `${decision === 'approved' ? 'Approve' : 'Reject'} the pending approval: {"id"?: "...", "by"?: "...", "note"?: "..."}`,
      }
    );
  }
}

/** The answers the unit's approvals have had. */
export function answersFor(run: TaskRun, unit: string): Pick<StepRequest, 'approvals'> {
  const approvals = decisionsFor(run, unit);
  return Object.keys(approvals).length ? { approvals } : {};
}

/** A `longrun.approval` step: waits for a person in the workflow itself, holding no worker. */
export async function approvalStep(run: TaskRun, unit: RunningUnit): Promise<StepOutcome> {
  const input = approvalStepInputSchema().parse(unit.step.step.input ?? {}); // checked when the task started
  const answer = await awaitApproval(run, unit, input);
  if (answer === null) return { kind: 'stopped', stopped: stoppedAt(null) };
  // The answer came in an update: ending the task in the workflow task that answers it would lose
  // the update's response (the server refuses it), so the outcome waits for the next one.
  await sleep(1);
  const output = { approved: answer.decision === 'approved', ...answer };
  if (output.approved || input.onReject === 'continue') return { kind: 'completed', output };
  const why = answer.timedOut ? 'rejected by default: nobody answered in time' : `rejected by ${answer.by}`;
  const message = `step ${unit.step.step.id}: approval ${answer.id} ${why}${answer.note ? `: ${answer.note}` : ''}`;
  const error = ApplicationFailure.nonRetryable(message, FailureType.ApprovalRejected);
  return { kind: 'failed', failureKind: 'permanent', message, attempt: null, error };
}
