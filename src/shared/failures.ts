/**
 * Failure classification and recovery decisions (transient, resource, critical and permanent
 * failures; retry, skip, roll back or stop; which errors to retry): pure functions, shared by the step activity (which classifies what an action
 * threw) and the workflow (which decides what to do once a step has failed for good).
 */

export const FAILURE_KINDS = ['transient', 'resource', 'critical', 'permanent'] as const;
/**
 * - transient: timeouts, connection resets, rate limits (429) and unavailable services (502-504);
 *   worth retrying soon, honouring Retry-After;
 * - resource: the machine ran out of something (ENOSPC, ENOMEM, too many open files); free the task's
 *   scratch space and retry later;
 * - critical: corrupted data or a fatal inconsistency; retried a few times, then the task rolls back
 *   to its latest checkpoint;
 * - permanent: anything else (bad input, a bug in the action); retrying will not help.
 */
export type FailureKind = (typeof FAILURE_KINDS)[number];

/** What the classifier looks at: any thrown value, read defensively. */
export interface FailureFacts {
  /** `ApplicationFailure.type`, an error's `name`, or a typed longrun error's kind. */
  type?: string | null;
  message?: string;
  /** Node system error code (`ECONNRESET`, `ENOSPC`, ...). */
  code?: string | null;
  /** HTTP status, when the failure came from an HTTP call. */
  status?: number | null;
}

const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);
const RESOURCE_CODES = new Set(['ENOSPC', 'ENOMEM', 'EMFILE', 'ENFILE', 'EDQUOT', 'ERR_OUT_OF_MEMORY']);
const TRANSIENT_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);

/** longrun's own failure types (`ApplicationFailure.type`) for each kind. */
export const FAILURE_TYPE_OF_KIND: Readonly<Record<FailureKind, string>> = {
  transient: 'LongrunTransient',
  resource: 'LongrunResource',
  critical: 'LongrunCritical',
  permanent: 'LongrunPermanent',
};

/** Sorts a failure into a kind. Explicit types win over codes, codes over HTTP status, status over text. */
export function classifyFailure(facts: FailureFacts): FailureKind {
  const type = facts.type ?? '';
  for (const kind of FAILURE_KINDS) if (type === FAILURE_TYPE_OF_KIND[kind]) return kind;
  if (/corrupt/i.test(type) || type === 'ArtifactCorruptError') return 'critical';
  const code = facts.code ?? '';
  if (RESOURCE_CODES.has(code)) return 'resource';
  if (TRANSIENT_CODES.has(code)) return 'transient';
  if (facts.status !== undefined && facts.status !== null && TRANSIENT_STATUS.has(facts.status))
    return 'transient';
  const message = facts.message ?? '';
  if (/out of memory|no space left|heap limit|disk (is )?full|too many open files/i.test(message))
    return 'resource';
  if (/corrupt|checksum mismatch|integrity/i.test(message)) return 'critical';
  if (
    /timed? ?out|timeout|rate.?limit|too many requests|temporar(il)?y unavailable|socket hang up|connection reset/i.test(
      message
    )
  ) {
    return 'transient';
  }
  return 'permanent';
}

/**
 * A Retry-After header value (seconds or an HTTP date) as milliseconds from `now`; null when absent or
 * unreadable; never negative, at most `maxMs`.
 */
export function retryAfterMs(
  value: string | null | undefined,
  now: number,
  maxMs = 3_600_000
): number | null {
  if (value === null || value === undefined || value.trim() === '') return null;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.min(maxMs, Math.round(Number(text) * 1000));
  const at = Date.parse(text);
  if (Number.isNaN(at)) return null;
  return Math.min(maxMs, Math.max(0, at - now));
}

/** A resource failure waits at least this long before the step is tried again. */
export const RESOURCE_RETRY_DELAY_MS = 60_000;

export const RECOVERY_DECISIONS = ['skip', 'rollback', 'fail'] as const;
/** What the workflow does with a step that failed for good (Temporal's retries are behind it). */
export type RecoveryDecision = (typeof RECOVERY_DECISIONS)[number];

export interface StepFailure {
  kind: FailureKind;
  /** The step is `critical` (the default); a non-critical step may be skipped. */
  critical: boolean;
  /** The task has a checkpoint to roll back to (recorded before this step's current run). */
  hasCheckpoint: boolean;
  /** Rollbacks this step has already caused: one is enough to tell a corrupt state from bad code. */
  rollbacks: number;
}

/**
 * What happens once a step's attempts are exhausted:
 * - a non-critical step is skipped (and why is recorded);
 * - a critical failure rolls back to the latest checkpoint once;
 * - anything else stops the task with a recovery checkpoint (state failed).
 */
export function recoveryDecision(failure: StepFailure): RecoveryDecision {
  if (!failure.critical) return 'skip';
  if (failure.kind === 'critical' && failure.hasCheckpoint && failure.rollbacks === 0) return 'rollback';
  return 'fail';
}

/**
 * A step whose attempts ran out because its workers kept dying (the last attempt ended in a heartbeat
 * timeout) is scheduled again from its cursor this many times: a lost worker is not a failure of the
 * step, but a step that takes down every worker it runs on must end.
 */
export const CRASH_RESCHEDULES = 5;

/** Whether to schedule a step again after its attempts ended with a lost worker (see `CRASH_RESCHEDULES`). */
export function rescheduleAfterLostWorker(lastAttemptLostWorker: boolean, reschedules: number): boolean {
  return lastAttemptLostWorker && reschedules < CRASH_RESCHEDULES;
}

/** A critical failure is retried this many attempts in all, then the workflow decides (rollback). */
export const CRITICAL_ATTEMPTS = 3;

/** The kind of a longrun failure type (`ApplicationFailure.type`), or null for any other type. */
export function kindOfFailureType(type: string | null | undefined): FailureKind | null {
  for (const kind of FAILURE_KINDS) if (type === FAILURE_TYPE_OF_KIND[kind]) return kind;
  return null;
}

/** One entry of a task's failure history (`failures` query). */
export interface FailureRecord {
  /** Epoch ms (workflow time). */
  at: number;
  stepId: string;
  kind: FailureKind;
  message: string;
  /** The attempt that failed last, when the step reported it. */
  attempt: number | null;
  decision: RecoveryDecision;
}

/** Failure records kept in the task's state (the newest). */
export const FAILURE_LOG_LIMIT = 50;
