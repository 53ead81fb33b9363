import {
  checkpointIntervalFor,
  DURABILITY_LEVELS,
  durabilityPolicy,
  hardwareProfileOf,
} from '../../src/shared/durability';
import { itemFraction, progressBar, weightedPercent } from '../../src/shared/progress';

describe('weightedPercent', () => {
  it('weights completed steps and the current step fraction', () => {
    expect(weightedPercent([1, 18, 1], 0)).toBe(0);
    expect(weightedPercent([1, 18, 1], 1)).toBeCloseTo(5);
    expect(weightedPercent([1, 18, 1], 1, 0.5)).toBeCloseTo(50);
    expect(weightedPercent([1, 18, 1], 3)).toBe(100);
  });

  it('clamps fractions and handles empty plans', () => {
    expect(weightedPercent([1, 1], 0, 7)).toBe(50);
    expect(weightedPercent([1, 1], 0, Number.NaN)).toBe(0);
    expect(weightedPercent([], 0)).toBe(0);
  });

  it('derives the item fraction only when the total is known', () => {
    expect(itemFraction({ done: 5, total: 10 })).toBe(0.5);
    expect(itemFraction({ done: 5, total: null })).toBe(0);
    expect(itemFraction(null)).toBe(0);
  });

  it('draws a bar of fixed width', () => {
    expect(progressBar(50, 10)).toBe('[#####-----]');
    expect(progressBar(150, 4)).toBe('[####]');
  });
});

describe('durabilityPolicy', () => {
  it('orders levels: higher durability notices dead workers sooner and loses less work', () => {
    const [basic, standard, high] = DURABILITY_LEVELS.map((l) => durabilityPolicy(l));
    expect(basic!.heartbeatTimeoutMs).toBeGreaterThan(standard!.heartbeatTimeoutMs);
    expect(standard!.heartbeatTimeoutMs).toBeGreaterThan(high!.heartbeatTimeoutMs);
    expect(basic!.automaticCheckpointEveryMs).toBeGreaterThan(high!.automaticCheckpointEveryMs);
    // In-step cursors travel every second at every level (the worker's cap), never later than 0.8 x timeout.
    expect(DURABILITY_LEVELS.map((l) => durabilityPolicy(l).checkpointIntervalMs)).toEqual([
      1_000, 1_000, 1_000,
    ]);
    expect(high!.retry.maximumAttempts).toBe(0); // unlimited
  });

  it('makes every interval 50% longer on a small machine, but not an explicit override', () => {
    const standard = durabilityPolicy('standard');
    const small = durabilityPolicy('standard', { hardware: 'small' });
    expect(small.heartbeatTimeoutMs).toBe(standard.heartbeatTimeoutMs * 1.5);
    expect(small.automaticCheckpointEveryMs).toBe(standard.automaticCheckpointEveryMs * 1.5);
    expect(
      durabilityPolicy('high', { hardware: 'small', heartbeatTimeoutMs: 2_000 }).heartbeatTimeoutMs
    ).toBe(2_000);
  });

  it('publishes the seed intervals for automatic checkpoints and backs up artifacts only at high', () => {
    expect(DURABILITY_LEVELS.map((l) => durabilityPolicy(l).automaticCheckpointEveryMs)).toEqual([
      600_000, 300_000, 120_000,
    ]);
    expect(DURABILITY_LEVELS.map((l) => durabilityPolicy(l).artifactBackup)).toEqual([false, false, true]);
    expect(DURABILITY_LEVELS.map((l) => durabilityPolicy(l).continueAsNewAfterEvents)).toEqual([
      0, 3_000, 1_000,
    ]);
  });

  it('classifies hardware like seed 000: fewer than 4 cores or under 8 GiB is small', () => {
    expect(hardwareProfileOf(2, 32 * 1024 ** 3)).toBe('small');
    expect(hardwareProfileOf(8, 4 * 1024 ** 3)).toBe('small');
    expect(hardwareProfileOf(4, 8 * 1024 ** 3)).toBe('standard');
  });

  it('derives the checkpoint interval from the heartbeat throttle of the SDK and the worker cap', () => {
    expect(checkpointIntervalFor(5_000)).toBe(1_000);
    expect(checkpointIntervalFor(1_000)).toBe(800);
    expect(checkpointIntervalFor(5_000, 60_000)).toBe(4_000);
    expect(checkpointIntervalFor(600_000, 60_000)).toBe(60_000);
    expect(durabilityPolicy('high', { heartbeatTimeoutMs: 2_000 }).checkpointIntervalMs).toBe(1_000);
  });
});
