/**
 * Streaming aggregation state: per group count, sum, min and max of a numeric field in integer cents
 * (exact, so an interrupted and resumed run gives the same totals as an uninterrupted one). Pure.
 */
export interface GroupStats {
  count: number;
  sumCents: number;
  minCents: number;
  maxCents: number;
}

export interface Aggregates {
  records: number;
  /** Lines that were not JSON objects with the group and sum fields. */
  invalid: number;
  groups: Record<string, GroupStats>;
}

export function emptyAggregates(): Aggregates {
  return { records: 0, invalid: 0, groups: {} };
}

/** Folds one JSONL line into the aggregates (mutates and returns them). */
export function foldLine(agg: Aggregates, line: string, groupBy: string, sumField: string): Aggregates {
  if (line.trim() === '') return agg;
  let row: unknown;
  try {
    row = JSON.parse(line);
  } catch {
    agg.invalid++;
    return agg;
  }
  const key = (row as Record<string, unknown> | null)?.[groupBy];
  const value = (row as Record<string, unknown> | null)?.[sumField];
  if (typeof key !== 'string' || typeof value !== 'number' || !Number.isFinite(value)) {
    agg.invalid++;
    return agg;
  }
  const cents = Math.round(value * 100);
  const stats = agg.groups[key];
  if (stats) {
    stats.count++;
    stats.sumCents += cents;
    if (cents < stats.minCents) stats.minCents = cents;
    if (cents > stats.maxCents) stats.maxCents = cents;
  } else {
    agg.groups[key] = { count: 1, sumCents: cents, minCents: cents, maxCents: cents };
  }
  agg.records++;
  return agg;
}
