/**
 * Sets of non-negative integers (step indices, fan-out item indices) as sorted, disjoint, inclusive
 * ranges: `[[0, 4999]]` for 5,000 completed steps. Keeps the state a task carries across
 * continue-as-new small however many items it has done. Pure; never mutates its input.
 */
export type Range = [first: number, last: number];
export type RangeSet = readonly Range[];

export function hasIndex(set: RangeSet, index: number): boolean {
  for (const [first, last] of set) {
    if (index < first) return false;
    if (index <= last) return true;
  }
  return false;
}

/** The set with `index` added, merged with its neighbours. */
export function addIndex(set: RangeSet, index: number): Range[] {
  return addRange(set, [index, index]);
}

/** The union of `set` and `[first, last]`. */
export function addRange(set: RangeSet, [first, last]: Range): Range[] {
  if (last < first) return set.map((r) => [r[0], r[1]]);
  const out: Range[] = [];
  let lo = first;
  let hi = last;
  let placed = false;
  for (const [a, b] of set) {
    if (b < lo - 1) out.push([a, b]);
    else if (a > hi + 1) {
      if (!placed) out.push([lo, hi]);
      placed = true;
      out.push([a, b]);
    } else {
      lo = Math.min(lo, a);
      hi = Math.max(hi, b);
    }
  }
  if (!placed) out.push([lo, hi]);
  return out;
}

export function unionRanges(a: RangeSet, b: RangeSet): Range[] {
  return b.reduce<Range[]>((acc, r) => addRange(acc, r), addRange(a, [1, 0]));
}

/** How many indices the set holds. */
export function countIndices(set: RangeSet): number {
  return set.reduce((n, [first, last]) => n + last - first + 1, 0);
}

/**
 * The first `limit` indices in `[0, total)` that are in none of `exclude`, ascending: the next items
 * of a fan-out to start.
 */
export function missingIndices(total: number, exclude: readonly RangeSet[], limit: number): number[] {
  const out: number[] = [];
  const merged = exclude.reduce<Range[]>((acc, set) => unionRanges(acc, set), []);
  let next = 0;
  for (const [first, last] of merged) {
    while (next < Math.min(first, total) && out.length < limit) out.push(next++);
    if (out.length >= limit || next >= total) return out;
    next = Math.max(next, last + 1);
  }
  while (next < total && out.length < limit) out.push(next++);
  return out;
}

/** "0-4, 7, 9-12" for messages. */
export function formatRanges(set: RangeSet): string {
  return set.map(([a, b]) => (a === b ? String(a) : `${a}-${b}`)).join(', ');
}
