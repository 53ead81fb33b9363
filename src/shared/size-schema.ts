/** Sizes in bytes or as text ("500MB", "2 GiB"): the parser and the zod schema of a size field. */
import { z } from 'zod';

const UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};

/** Bytes of `"500MB"`, `"1.5 GiB"`, `"4096"` or a number; throws a message naming the rule. */
export function parseSize(value: number | string): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0)
      throw new Error(`must be a size of 0 bytes or more (got ${value})`);
    return Math.floor(value);
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(value);
  const unit = UNITS[(m?.[2] || 'b').toLowerCase()];
  if (!m || unit === undefined) {
    throw new Error(`must be bytes or a size such as "500MB" or "2GiB" (got ${JSON.stringify(value)})`);
  }
  return Math.floor(Number(m[1]) * unit);
}

/** A size in bytes, or as text, between `min` and `max` bytes. Parsed to bytes. */
export function sizeSchema(min: number, max: number) {
  return z.union([z.number(), z.string()]).transform((value, ctx) => {
    let bytes: number;
    try {
      bytes = parseSize(value);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
    if (bytes < min || bytes > max) {
      ctx.addIssue({ code: 'custom', message: `must be between ${min} and ${max} bytes (got ${bytes})` });
      return z.NEVER;
    }
    return bytes;
  });
}
