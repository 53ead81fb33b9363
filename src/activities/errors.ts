/**
 * Typed errors an agent action can throw to choose how longrun recovers (see
 * `src/shared/failures.ts`). Anything else an action throws is classified by its code, HTTP status
 * and message.
 *
 * @example
 * ```ts
 * if (res.status === 429) throw new TransientError('rate limited', { retryAfterMs: 30_000 });
 * ```
 */
import { ApplicationFailure } from '@temporalio/common';
import {
  classifyFailure,
  FAILURE_TYPE_OF_KIND,
  CRITICAL_ATTEMPTS,
  RESOURCE_RETRY_DELAY_MS,
  type FailureKind,
} from '../shared/failures';
import type { ModelUsage } from '../shared/model-usage';

export interface FailureOptions {
  /** The error that caused this one (kept as the standard `cause`). */
  cause?: unknown;
}

/** Worth retrying soon (network blips, rate limits); `retryAfterMs` overrides the backoff. */
export class TransientError extends Error {
  override readonly name: string = 'TransientError';
  readonly retryAfterMs: number | undefined;
  constructor(message: string, options: FailureOptions & { retryAfterMs?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.retryAfterMs = options.retryAfterMs;
  }
}

/**
 * The machine ran out of something: longrun clears the step's `tempDir` and retries a minute later
 * (or after `retryAfterMs`, when the action knows better, e.g. a quota that resets).
 */
export class ResourceError extends Error {
  override readonly name = 'ResourceError';
  readonly retryAfterMs: number | undefined;
  constructor(message: string, options: FailureOptions & { retryAfterMs?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** Corrupted or inconsistent state: retried, then the task rolls back to its latest checkpoint. */
export class CriticalError extends Error {
  override readonly name = 'CriticalError';
  constructor(message: string, options: FailureOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
  }
}

/** Retrying cannot help (bad data, a refused request): the step fails at once. */
export class PermanentError extends Error {
  override readonly name = 'PermanentError';
  constructor(message: string, options: FailureOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
  }
}

const KIND_OF_CLASS: [new (...args: never[]) => Error, FailureKind][] = [
  [TransientError, 'transient'],
  [ResourceError, 'resource'],
  [CriticalError, 'critical'],
  [PermanentError, 'permanent'],
];

/** The kind of what an action threw: its typed class, else its code, HTTP status and message. */
export function kindOf(err: unknown): FailureKind {
  for (const [cls, kind] of KIND_OF_CLASS) if (err instanceof cls) return kind;
  const e = (typeof err === 'object' && err !== null ? err : {}) as {
    name?: unknown;
    message?: unknown;
    code?: unknown;
    status?: unknown;
    statusCode?: unknown;
  };
  const status =
    typeof e.status === 'number' ? e.status : typeof e.statusCode === 'number' ? e.statusCode : null;
  return classifyFailure({
    type: typeof e.name === 'string' ? e.name : null,
    message: typeof e.message === 'string' ? e.message : String(err),
    code: typeof e.code === 'string' ? e.code : null,
    status,
  });
}

/**
 * What an action threw, as the `ApplicationFailure` Temporal's retry policy acts on: typed by kind,
 * non-retryable when permanent, with the next retry delay for Retry-After and resource waits.
 */
export function toStepFailure(
  err: unknown,
  stepId: string,
  attempt: number,
  usage?: ModelUsage,
  /** How long a resource failure waits before its retry unless the error says. @default RESOURCE_RETRY_DELAY_MS */
  resourceRetryMs: number = RESOURCE_RETRY_DELAY_MS
): ApplicationFailure {
  const kind = kindOf(err);
  const message = err instanceof Error ? err.message : String(err);
  const retryAfter =
    err instanceof TransientError || err instanceof ResourceError ? err.retryAfterMs : undefined;
  const nextRetryDelay =
    kind === 'resource'
      ? (retryAfter ?? resourceRetryMs)
      : kind === 'transient' && retryAfter !== undefined
        ? retryAfter
        : undefined;
  return ApplicationFailure.create({
    type: FAILURE_TYPE_OF_KIND[kind],
    message: `step ${stepId} (${kind}): ${message}`,
    // Critical failures get a few attempts, then the workflow rolls back to a checkpoint.
    nonRetryable: kind === 'permanent' || (kind === 'critical' && attempt >= CRITICAL_ATTEMPTS),
    ...(nextRetryDelay === undefined ? {} : { nextRetryDelay }),
    details: [
      {
        kind,
        attempt,
        ...(retryAfter === undefined ? {} : { retryAfterMs: retryAfter }),
        // What the step's model calls used: a step that fails for good still cost this.
        ...(usage ? { usage } : {}),
      },
    ],
    ...(err instanceof Error ? { cause: err } : {}),
  });
}
