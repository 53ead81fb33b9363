/**
 * Model usage and its cost: what each model call used (tokens, latency), priced from the operator's
 * table, summed per step and per task. Every figure says whether it is exact (the provider reported
 * the tokens) or estimated (longrun counted characters). Pure and sandbox-safe.
 */
import { z } from 'zod';
import { lazy } from './lazy';

/** What one or many model calls used. Counts every attempt that reached the provider, retried ones too. */
export interface ModelUsage {
  /** Calls the provider answered (and so billed). */
  calls: number;
  /** Calls answered from the step's call record instead of the provider (after a retry or resume). */
  reused: number;
  promptTokens: number;
  completionTokens: number;
  /** Prompt tokens the provider served from its cache (billed at the cached price). */
  cachedTokens: number;
  /** US dollars, from the price table; 0 for models the table does not list. */
  costUsd: number;
  /** Calls whose tokens the provider did not report (counted as characters / 4). */
  estimatedCalls: number;
  /** Calls of models missing from the price table (their cost is not counted). */
  unpricedCalls: number;
  /** Total time waiting for answers, ms. */
  latencyMs: number;
}

export function emptyUsage(): ModelUsage {
  return {
    calls: 0,
    reused: 0,
    promptTokens: 0,
    completionTokens: 0,
    cachedTokens: 0,
    costUsd: 0,
    estimatedCalls: 0,
    unpricedCalls: 0,
    latencyMs: 0,
  };
}

const USAGE_FIELDS = Object.keys(emptyUsage()) as (keyof ModelUsage)[];

/** The sum of usages (absent ones count as none). */
export function addUsage(...usages: ReadonlyArray<ModelUsage | null | undefined>): ModelUsage {
  const sum = emptyUsage();
  for (const usage of usages) {
    if (!usage) continue;
    for (const field of USAGE_FIELDS) sum[field] += usage[field] ?? 0;
  }
  sum.costUsd = roundUsd(sum.costUsd);
  return sum;
}

/** `a - b`, field by field, never below zero (the growth of a step's usage between two reports). */
export function subtractUsage(a: ModelUsage, b: ModelUsage | null | undefined): ModelUsage {
  const out = emptyUsage();
  for (const field of USAGE_FIELDS) out[field] = Math.max(0, (a[field] ?? 0) - (b?.[field] ?? 0));
  out.costUsd = roundUsd(out.costUsd);
  return out;
}

export function totalTokens(usage: Pick<ModelUsage, 'promptTokens' | 'completionTokens'>): number {
  return usage.promptTokens + usage.completionTokens;
}

/** Whether every figure came from the provider. */
export function isExact(usage: Pick<ModelUsage, 'estimatedCalls' | 'unpricedCalls'>): boolean {
  return usage.estimatedCalls === 0 && usage.unpricedCalls === 0;
}

/** Dollars kept to a millionth of a cent: sums of float prices would otherwise drift. */
function roundUsd(value: number): number {
  return Math.round(value * 1e8) / 1e8;
}

/** Prices of one model, US dollars per million tokens. */
export const modelPriceSchema = lazy(() =>
  z.strictObject({
    input: z.number().nonnegative(),
    output: z.number().nonnegative(),
    /** Cached prompt tokens. @default the input price */
    cachedInput: z.number().nonnegative().optional(),
  })
);
export type ModelPrice = z.output<ReturnType<typeof modelPriceSchema>>;

/** The operator's price table (`LONGRUN_LLM_PRICES`): model name (or a prefix ending in `*`) → prices. */
export const priceTableSchema = lazy(() => z.record(z.string().min(1), modelPriceSchema()));
export type PriceTable = z.output<ReturnType<typeof priceTableSchema>>;

/** The price of `model`: an exact entry, else the longest matching `prefix*` entry, else null. */
export function priceOf(table: PriceTable, model: string): ModelPrice | null {
  const exact = table[model];
  if (exact) return exact;
  let best: { length: number; price: ModelPrice } | null = null;
  for (const [name, price] of Object.entries(table)) {
    if (!name.endsWith('*')) continue;
    const prefix = name.slice(0, -1);
    if (model.startsWith(prefix) && (!best || prefix.length > best.length))
      best = { length: prefix.length, price };
  }
  return best?.price ?? null;
}

/** What one answered call reports, before pricing. */
export interface CallFacts {
  model: string;
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  latencyMs: number;
  /** The provider reported the token counts. */
  exact: boolean;
}

/** The usage of one answered call, priced from `table`. */
export function usageOfCall(facts: CallFacts, table: PriceTable): ModelUsage {
  const price = priceOf(table, facts.model);
  const cached = Math.min(facts.cachedTokens, facts.promptTokens);
  const cost = price
    ? ((facts.promptTokens - cached) * price.input +
        cached * (price.cachedInput ?? price.input) +
        facts.completionTokens * price.output) /
      1e6
    : 0;
  return {
    ...emptyUsage(),
    calls: 1,
    promptTokens: facts.promptTokens,
    completionTokens: facts.completionTokens,
    cachedTokens: cached,
    costUsd: roundUsd(cost),
    estimatedCalls: facts.exact ? 0 : 1,
    unpricedCalls: price ? 0 : 1,
    latencyMs: facts.latencyMs,
  };
}

/** Tokens of text when the provider does not say: about four characters each. */
export function estimateTokens(chars: number): number {
  return Math.ceil(chars / 4);
}

/** "12.3k tokens, $0.0421 (3 calls, 1 reused)", with "~" where a figure is estimated. */
export function formatUsage(usage: ModelUsage): string {
  const approx = isExact(usage) ? '' : '~';
  const tokens = totalTokens(usage);
  const t =
    tokens >= 1_000_000
      ? `${(tokens / 1e6).toFixed(2)}M`
      : tokens >= 10_000
        ? `${(tokens / 1000).toFixed(1)}k`
        : String(tokens);
  const calls = `${usage.calls} call${usage.calls === 1 ? '' : 's'}${usage.reused ? `, ${usage.reused} reused` : ''}`;
  return `${approx}${t} tokens, ${approx}$${usage.costUsd.toFixed(4)} (${calls})`;
}
