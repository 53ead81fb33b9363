/**
 * Model usage accounting (pricing, sums, exact vs estimated) and reading a quota's reset time from a
 * provider's answer: the pure parts of durable model calls.
 */
import {
  addUsage,
  emptyUsage,
  estimateTokens,
  formatUsage,
  isExact,
  priceOf,
  priceTableSchema,
  subtractUsage,
  usageOfCall,
} from '../../src/shared/model-usage';
import { goDurationMs, quotaReset } from '../../src/shared/rate-limits';

const table = priceTableSchema().parse({
  'gpt-4o-mini': { input: 0.15, output: 0.6, cachedInput: 0.075 },
  'gpt-4o*': { input: 2.5, output: 10 },
  'gpt-*': { input: 1, output: 1 },
});

describe('pricing', () => {
  it('prefers an exact name, then the longest matching prefix', () => {
    expect(priceOf(table, 'gpt-4o-mini')?.input).toBe(0.15);
    expect(priceOf(table, 'gpt-4o-2024-08-06')?.input).toBe(2.5);
    expect(priceOf(table, 'gpt-3.5-turbo')?.input).toBe(1);
    expect(priceOf(table, 'claude-3')).toBeNull();
  });

  it('prices cached prompt tokens at the cached price', () => {
    const usage = usageOfCall(
      {
        model: 'gpt-4o-mini',
        promptTokens: 1_000_000,
        completionTokens: 100_000,
        cachedTokens: 400_000,
        latencyMs: 12,
        exact: true,
      },
      table
    );
    // 600k × 0.15 + 400k × 0.075 + 100k × 0.6, per million
    expect(usage.costUsd).toBeCloseTo(0.09 + 0.03 + 0.06, 8);
    expect(usage).toMatchObject({ calls: 1, cachedTokens: 400_000, estimatedCalls: 0, unpricedCalls: 0 });
    expect(isExact(usage)).toBe(true);
  });

  it('says when a figure is estimated or unpriced', () => {
    const estimated = usageOfCall(
      {
        model: 'gpt-4o-mini',
        promptTokens: estimateTokens(4_001),
        completionTokens: 3,
        cachedTokens: 0,
        latencyMs: 1,
        exact: false,
      },
      table
    );
    expect(estimated.promptTokens).toBe(1_001);
    expect(isExact(estimated)).toBe(false);
    const unpriced = usageOfCall(
      {
        model: 'local-llama',
        promptTokens: 10,
        completionTokens: 10,
        cachedTokens: 0,
        latencyMs: 1,
        exact: true,
      },
      table
    );
    expect(unpriced).toMatchObject({ costUsd: 0, unpricedCalls: 1 });
    expect(formatUsage(addUsage(estimated, unpriced))).toMatch(/^~/);
  });

  it('rejects a price table entry with a bad field, naming it', () => {
    const parsed = priceTableSchema().safeParse({ m: { input: -1, output: 1 } });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.path).toEqual(['m', 'input']);
  });
});

describe('sums', () => {
  it('adds and subtracts field by field without float drift', () => {
    const one = { ...emptyUsage(), calls: 1, promptTokens: 10, costUsd: 0.1 };
    const two = { ...emptyUsage(), calls: 2, reused: 1, completionTokens: 5, costUsd: 0.2 };
    const sum = addUsage(one, null, two, undefined);
    expect(sum).toMatchObject({ calls: 3, reused: 1, promptTokens: 10, completionTokens: 5, costUsd: 0.3 });
    expect(subtractUsage(sum, one)).toMatchObject({ calls: 2, promptTokens: 0, costUsd: 0.2 });
    expect(subtractUsage(one, sum).calls).toBe(0);
    expect(formatUsage(sum)).toBe('15 tokens, $0.3000 (3 calls, 1 reused)');
    expect(formatUsage({ ...one, promptTokens: 12_345 })).toBe('12.3k tokens, $0.1000 (1 call)');
    expect(formatUsage({ ...one, promptTokens: 10_642_800 })).toBe('10.64M tokens, $0.1000 (1 call)');
  });
});

describe('quota reset', () => {
  const now = Date.parse('2026-12-03T08:00:00Z');

  it('reads Go-style durations', () => {
    expect(goDurationMs('6m0s')).toBe(360_000);
    expect(goDurationMs('1.5s')).toBe(1_500);
    expect(goDurationMs('20ms')).toBe(20);
    expect(goDurationMs('1h2m3s')).toBe(3_723_000);
    expect(goDurationMs('soon')).toBeNull();
  });

  it('takes Retry-After first, in seconds or as a date', () => {
    expect(quotaReset({ 'Retry-After': '7', 'x-ratelimit-reset-requests': '1m' }, '', now)).toEqual({
      ms: 7_000,
      source: 'retry-after',
    });
    expect(quotaReset({ 'retry-after': new Date(now + 90_000).toUTCString() }, '', now)?.ms).toBe(90_000);
  });

  it('picks the exhausted limit of several x-ratelimit-reset-* headers', () => {
    const headers = {
      'x-ratelimit-remaining-requests': '12',
      'x-ratelimit-reset-requests': '2s',
      'x-ratelimit-remaining-tokens': '0',
      'x-ratelimit-reset-tokens': '6m0s',
    };
    expect(quotaReset(headers, '', now)).toEqual({ ms: 360_000, source: 'x-ratelimit-reset-tokens' });
    const none = { 'x-ratelimit-reset-requests': '2s', 'x-ratelimit-reset-tokens': '30s' };
    expect(quotaReset(none, '', now)).toEqual({ ms: 30_000, source: 'x-ratelimit-reset-tokens' });
  });

  it('reads epoch seconds and Anthropic reset dates', () => {
    expect(quotaReset({ 'x-ratelimit-reset': String((now + 45_000) / 1000) }, '', now)?.ms).toBe(45_000);
    const anthropic = { 'anthropic-ratelimit-tokens-reset': new Date(now + 60_000).toISOString() };
    expect(quotaReset(anthropic, '', now)).toEqual({
      ms: 60_000,
      source: 'anthropic-ratelimit-tokens-reset',
    });
  });

  it('falls back to a reset time in the error body', () => {
    const openai = '{"error":{"message":"Rate limit reached. Please try again in 20s."}}';
    expect(quotaReset({}, openai, now)).toEqual({ ms: 20_000, source: 'body' });
    expect(quotaReset({}, '{"error":{"details":[{"retryDelay":"1.5s"}]}}', now)?.ms).toBe(1_500);
    const at = `{"error":{"reset_at":"${new Date(now + 5_000).toISOString()}"}}`;
    expect(quotaReset({}, at, now)?.ms).toBe(5_000);
    expect(quotaReset({}, '{"error":{"message":"quota exceeded"}}', now)).toBeNull();
  });
});
