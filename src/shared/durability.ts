/**
 * Durability levels: how much work a crash may cost, how fast a dead worker is noticed, how hard a
 * failing step is retried, how often named automatic checkpoints are recorded, how early a task
 * continues as new and whether artifacts are backed up. One table, used by the workflow and published
 * in docs/concepts.md. Intervals are in milliseconds.
 */
export const DURABILITY_LEVELS = ['basic', 'standard', 'high'] as const;
export type DurabilityLevel = (typeof DURABILITY_LEVELS)[number];

/** `small`: a machine with fewer than 4 cores or less than 8 GiB of memory (a NUC-class box). */
export const HARDWARE_PROFILES = ['small', 'standard'] as const;
export type HardwareProfile = (typeof HARDWARE_PROFILES)[number];

/** On a small machine every interval is 50% longer (slower disks and fewer cores take longer to notice and recover). */
export const SMALL_MACHINE_FACTOR = 1.5;

export interface RetryPolicySpec {
  initialIntervalMs: number;
  backoffCoefficient: number;
  maximumIntervalMs: number;
  /** 0 means unlimited (until the task's deadline). */
  maximumAttempts: number;
}

export interface DurabilityPolicy {
  level: DurabilityLevel;
  hardware: HardwareProfile;
  /** A step that sends no heartbeat for this long is presumed dead and retried on another worker. */
  heartbeatTimeoutMs: number;
  /**
   * Most wall time of in-step work a crash can lose: the SDK sends a step's latest cursor to the server
   * every min(0.8 x heartbeat timeout, the worker's cap, 1 s by default).
   */
  checkpointIntervalMs: number;
  /** A named `automatic` checkpoint is recorded at the first step boundary after this much time. */
  automaticCheckpointEveryMs: number;
  /** Continue as new once a run's history has this many events; 0: only when the server suggests it. */
  continueAsNewAfterEvents: number;
  /** Artifacts are copied to a backup folder and restored from it when the primary copy is corrupt. */
  artifactBackup: boolean;
  retry: RetryPolicySpec;
}

/**
 * The longrun worker's cap on the heartbeat throttle interval (worker option
 * `maxHeartbeatThrottleInterval`, env `LONGRUN_MAX_CHECKPOINT_INTERVAL_MS`): a running step's cursor
 * and item progress reach the server at least this often, and a pause or cancel reaches the step
 * within about this long. A heartbeat is one RPC and no history event.
 */
export const DEFAULT_MAX_CHECKPOINT_INTERVAL_MS = 1_000;

type LevelRow = Omit<DurabilityPolicy, 'level' | 'hardware' | 'checkpointIntervalMs'>;

export const DURABILITY_TABLE: Readonly<Record<DurabilityLevel, LevelRow>> = {
  basic: {
    heartbeatTimeoutMs: 120_000,
    automaticCheckpointEveryMs: 10 * 60_000,
    continueAsNewAfterEvents: 0,
    artifactBackup: false,
    retry: {
      initialIntervalMs: 5_000,
      backoffCoefficient: 2,
      maximumIntervalMs: 120_000,
      maximumAttempts: 3,
    },
  },
  standard: {
    heartbeatTimeoutMs: 30_000,
    automaticCheckpointEveryMs: 5 * 60_000,
    continueAsNewAfterEvents: 3_000,
    artifactBackup: false,
    retry: {
      initialIntervalMs: 1_000,
      backoffCoefficient: 2,
      maximumIntervalMs: 60_000,
      maximumAttempts: 10,
    },
  },
  high: {
    heartbeatTimeoutMs: 5_000,
    automaticCheckpointEveryMs: 2 * 60_000,
    continueAsNewAfterEvents: 1_000,
    artifactBackup: true,
    retry: { initialIntervalMs: 500, backoffCoefficient: 2, maximumIntervalMs: 30_000, maximumAttempts: 0 },
  },
};

/** The checkpoint interval the SDK's heartbeat throttling yields for a heartbeat timeout and worker cap. */
export function checkpointIntervalFor(
  heartbeatTimeoutMs: number,
  workerCapMs = DEFAULT_MAX_CHECKPOINT_INTERVAL_MS
): number {
  return Math.min(Math.round(heartbeatTimeoutMs * 0.8), workerCapMs);
}

export interface PolicyOptions {
  /** Overrides the level's heartbeat timeout (not scaled by the hardware profile). */
  heartbeatTimeoutMs?: number;
  /** @default "standard" */
  hardware?: HardwareProfile;
}

/** The policy for a level on a hardware profile. */
export function durabilityPolicy(level: DurabilityLevel, opts: PolicyOptions = {}): DurabilityPolicy {
  const row = DURABILITY_TABLE[level];
  const hardware = opts.hardware ?? 'standard';
  const factor = hardware === 'small' ? SMALL_MACHINE_FACTOR : 1;
  const heartbeatTimeoutMs = opts.heartbeatTimeoutMs ?? Math.round(row.heartbeatTimeoutMs * factor);
  return {
    level,
    hardware,
    heartbeatTimeoutMs,
    checkpointIntervalMs: checkpointIntervalFor(heartbeatTimeoutMs),
    automaticCheckpointEveryMs: Math.round(row.automaticCheckpointEveryMs * factor),
    continueAsNewAfterEvents: row.continueAsNewAfterEvents,
    artifactBackup: row.artifactBackup,
    retry: { ...row.retry },
  };
}

/** A worker under 4 cores or 8 GiB is small (its intervals are longer), from what it measured. */
export function hardwareProfileOf(cores: number, memoryBytes: number): HardwareProfile {
  return cores < 4 || memoryBytes < 8 * 1024 ** 3 ? 'small' : 'standard';
}
