/**
 * Durability levels: how much in-step work a crash may cost, how fast a dead worker is noticed and how
 * hard a failing step is retried. One table, used by the workflow (activity options) and documented in
 * the README. Intervals are in milliseconds.
 */
export const DURABILITY_LEVELS = ['basic', 'standard', 'high'] as const;
export type DurabilityLevel = (typeof DURABILITY_LEVELS)[number];

export interface RetryPolicySpec {
  initialIntervalMs: number;
  backoffCoefficient: number;
  maximumIntervalMs: number;
  /** 0 means unlimited (until the task's deadline). */
  maximumAttempts: number;
}

export interface DurabilityPolicy {
  level: DurabilityLevel;
  /** A step that sends no heartbeat for this long is presumed dead and retried on another worker. */
  heartbeatTimeoutMs: number;
  /**
   * Most wall time of in-step work a crash can lose: the SDK sends a step's latest cursor to the server
   * at most every min(0.8 x heartbeat timeout, 60 s).
   */
  checkpointIntervalMs: number;
  retry: RetryPolicySpec;
}

/** The SDK's cap on the heartbeat throttle interval (worker option `maxHeartbeatThrottleInterval`). */
export const MAX_HEARTBEAT_THROTTLE_MS = 60_000;

const TABLE: Record<DurabilityLevel, { heartbeatTimeoutMs: number; retry: RetryPolicySpec }> = {
  basic: {
    heartbeatTimeoutMs: 120_000,
    retry: {
      initialIntervalMs: 5_000,
      backoffCoefficient: 2,
      maximumIntervalMs: 120_000,
      maximumAttempts: 3,
    },
  },
  standard: {
    heartbeatTimeoutMs: 30_000,
    retry: {
      initialIntervalMs: 1_000,
      backoffCoefficient: 2,
      maximumIntervalMs: 60_000,
      maximumAttempts: 10,
    },
  },
  high: {
    heartbeatTimeoutMs: 5_000,
    retry: { initialIntervalMs: 500, backoffCoefficient: 2, maximumIntervalMs: 30_000, maximumAttempts: 0 },
  },
};

/** The checkpoint interval the SDK's heartbeat throttling yields for a given heartbeat timeout. */
export function checkpointIntervalFor(heartbeatTimeoutMs: number): number {
  return Math.min(Math.round(heartbeatTimeoutMs * 0.8), MAX_HEARTBEAT_THROTTLE_MS);
}

/**
 * The policy for a level. `heartbeatTimeoutMs` overrides the level's value (a task spec may ask for
 * faster dead-worker detection); the checkpoint interval follows from it.
 */
export function durabilityPolicy(
  level: DurabilityLevel,
  overrides: { heartbeatTimeoutMs?: number } = {}
): DurabilityPolicy {
  const row = TABLE[level];
  const heartbeatTimeoutMs = overrides.heartbeatTimeoutMs ?? row.heartbeatTimeoutMs;
  return {
    level,
    heartbeatTimeoutMs,
    checkpointIntervalMs: checkpointIntervalFor(heartbeatTimeoutMs),
    retry: { ...row.retry },
  };
}
