/**
 * A task's budget for model use: tokens, cost (US dollars) and model calls, each with a soft
 * threshold (a warning and a `task.budget` webhook) and a hard one (the task pauses; `extend` with a
 * higher budget, then resume). Pure and sandbox-safe.
 */
import { z } from 'zod';
import { lazy } from './lazy';
import { totalTokens, type ModelUsage } from './model-usage';

export const BUDGET_DIMENSIONS = ['tokens', 'costUsd', 'calls'] as const;
export type BudgetDimension = (typeof BUDGET_DIMENSIONS)[number];

/** A bare number is the hard limit; the soft one is then this share of it. */
export const DEFAULT_SOFT_SHARE = 0.8;

const positive = () => z.number().positive('must be above 0').finite();
const budgetLimitSchema = lazy(() =>
  z.union([
    positive(),
    z
      .strictObject({ soft: positive().optional(), hard: positive().optional() })
      .refine((l) => l.soft !== undefined || l.hard !== undefined, 'give "soft", "hard" or both')
      .refine((l) => l.soft === undefined || l.hard === undefined || l.soft < l.hard, {
        message: 'soft must be below hard',
        path: ['soft'],
      }),
  ])
);

/** The spec's `budget`: e.g. `{ "costUsd": 5, "tokens": { "soft": 1e6, "hard": 2e6 } }`. */
export const budgetSchema = lazy(() =>
  z.strictObject({
    tokens: budgetLimitSchema().optional(),
    costUsd: budgetLimitSchema().optional(),
    calls: budgetLimitSchema().optional(),
  })
);
export type BudgetSpec = z.output<ReturnType<typeof budgetSchema>>;

export interface BudgetLimit {
  soft: number | null;
  hard: number | null;
}
export type BudgetLimits = Partial<Record<BudgetDimension, BudgetLimit>>;

/** The limits a spec's budget sets, or null for none. */
export function budgetLimits(spec: BudgetSpec | undefined): BudgetLimits | null {
  if (!spec) return null;
  const out: BudgetLimits = {};
  for (const dim of BUDGET_DIMENSIONS) {
    const limit = spec[dim];
    if (limit === undefined) continue;
    out[dim] =
      typeof limit === 'number'
        ? { soft: limit * DEFAULT_SOFT_SHARE, hard: limit }
        : { soft: limit.soft ?? null, hard: limit.hard ?? null };
  }
  return Object.keys(out).length ? out : null;
}

/** New hard limits (`extend`): each soft threshold keeps its share of the hard one. */
export function raiseBudget(
  limits: BudgetLimits,
  raise: Partial<Record<BudgetDimension, number>>
): BudgetLimits {
  const out: BudgetLimits = { ...limits };
  for (const dim of BUDGET_DIMENSIONS) {
    const hard = raise[dim];
    const before = limits[dim];
    if (hard === undefined || !before) continue;
    const share = before.soft !== null && before.hard !== null ? before.soft / before.hard : null;
    out[dim] = { soft: share === null ? before.soft : hard * share, hard };
  }
  return out;
}

export function usedOf(usage: ModelUsage | null | undefined, dim: BudgetDimension): number {
  if (!usage) return 0;
  return dim === 'tokens' ? totalTokens(usage) : dim === 'costUsd' ? usage.costUsd : usage.calls;
}

export function formatAmount(dim: BudgetDimension, n: number): string {
  if (dim === 'costUsd') return `$${n.toFixed(2)}`;
  if (dim === 'tokens') return n >= 1e6 ? `${(n / 1e6).toFixed(2)}M tokens` : `${Math.round(n)} tokens`;
  return `${Math.round(n)} model calls`;
}

/** The first hard limit reached ("budget: $5.00 of $5.00 spent"), else null. */
export function budgetReached(
  limits: BudgetLimits | null,
  usage: ModelUsage | null | undefined
): string | null {
  if (!limits) return null;
  for (const dim of BUDGET_DIMENSIONS) {
    const hard = limits[dim]?.hard;
    if (hard == null) continue;
    const used = usedOf(usage, dim);
    if (used >= hard) return `budget: ${formatAmount(dim, used)} used of ${formatAmount(dim, hard)}`;
  }
  return null;
}

/** Soft thresholds crossed that `warned` does not list yet. */
export function softCrossed(
  limits: BudgetLimits | null,
  usage: ModelUsage | null | undefined,
  warned: readonly string[]
): BudgetDimension[] {
  if (!limits) return [];
  return BUDGET_DIMENSIONS.filter((dim) => {
    const soft = limits[dim]?.soft;
    return soft != null && !warned.includes(dim) && usedOf(usage, dim) >= soft;
  });
}

/**
 * What each dimension has left when a step's schedule starts: up to the hard limit (the step stops
 * before it spends past it) and up to the soft one (the step reports at once when it crosses it).
 */
export type StepBudget = Partial<
  Record<BudgetDimension, { left?: number; hard?: number; softLeft?: number }>
>;

export function stepBudget(
  limits: BudgetLimits | null,
  usage: ModelUsage | null | undefined
): StepBudget | undefined {
  if (!limits) return undefined;
  const out: StepBudget = {};
  for (const dim of BUDGET_DIMENSIONS) {
    const limit = limits[dim];
    if (!limit) continue;
    const used = usedOf(usage, dim);
    out[dim] = {
      ...(limit.hard === null ? {} : { left: Math.max(0, limit.hard - used), hard: limit.hard }),
      ...(limit.soft === null || used >= limit.soft ? {} : { softLeft: limit.soft - used }),
    };
  }
  return Object.keys(out).length ? out : undefined;
}

/** A hard limit this schedule's own use reached (`left` was what the task had when it started). */
export function stepBudgetReached(budget: StepBudget | undefined, used: ModelUsage): string | null {
  if (!budget) return null;
  for (const dim of BUDGET_DIMENSIONS) {
    const b = budget[dim];
    if (b?.left !== undefined && b.hard !== undefined && usedOf(used, dim) >= b.left)
      return `budget: ${formatAmount(dim, b.hard)} of ${dim} reached`;
  }
  return null;
}

/** Whether growing from `before` to `after` crossed a soft threshold of the step's budget. */
export function stepSoftCrossed(
  budget: StepBudget | undefined,
  before: ModelUsage,
  after: ModelUsage
): boolean {
  if (!budget) return false;
  return BUDGET_DIMENSIONS.some((dim) => {
    const soft = budget[dim]?.softLeft;
    return soft !== undefined && usedOf(before, dim) < soft && usedOf(after, dim) >= soft;
  });
}

/** A dimension of the budget as progress shows it. */
export interface BudgetLine {
  dimension: BudgetDimension;
  used: number;
  soft: number | null;
  hard: number | null;
  /** Spend per hour of active time. */
  perHour: number | null;
  /** What the task will have used when its work is done, at the rate so far; null before it knows. */
  projected: number | null;
  /** The hard limit comes before the work's end at this rate. */
  runsOutFirst: boolean;
}

/** Every dimension of the budget with its spend rate and projection at `percent` done. */
export function budgetLines(
  limits: BudgetLimits | null,
  usage: ModelUsage | null | undefined,
  percent: number,
  activeMs: number
): BudgetLine[] {
  if (!limits) return [];
  return BUDGET_DIMENSIONS.flatMap((dimension) => {
    const limit = limits[dimension];
    if (!limit) return [];
    const used = usedOf(usage, dimension);
    const projected = percent > 0 && percent < 100 ? (used * 100) / percent : percent >= 100 ? used : null;
    return [
      {
        dimension,
        used,
        soft: limit.soft,
        hard: limit.hard,
        perHour: activeMs > 0 ? (used * 3_600_000) / activeMs : null,
        projected,
        runsOutFirst: limit.hard !== null && projected !== null && projected > limit.hard,
      },
    ];
  });
}

/** "$1.20 of $5.00 (warn at $4.00), about $3.10 at the end". */
export function budgetLineText(line: BudgetLine): string {
  const f = (n: number) => formatAmount(line.dimension, n);
  const parts = [line.hard !== null ? `${f(line.used)} of ${f(line.hard)}` : f(line.used)];
  if (line.soft !== null) parts.push(`(warn at ${f(line.soft)})`);
  if (line.perHour !== null && line.used > 0) parts.push(`, ${f(line.perHour)} per active hour`);
  if (line.projected !== null && line.used < (line.hard ?? Infinity))
    parts.push(
      `, about ${f(line.projected)} at the end${line.runsOutFirst ? ': the budget runs out first' : ''}`
    );
  return parts.join(' ').replaceAll(' ,', ',');
}
