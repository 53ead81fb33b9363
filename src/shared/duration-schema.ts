/** The zod schema of a duration field (specs, requests), in its own file so any schema can use it. */
import { z } from 'zod';
import { parseDuration } from './duration';

/**
 * A duration in milliseconds, or as text ("90s", "15m", "12h", "3d", "1h30m"), between `min` and
 * `max` ms. Parsed to milliseconds.
 */
export function durationSchema(min: number, max: number) {
  return z.union([z.number(), z.string()]).transform((value, ctx) => {
    let ms: number;
    try {
      ms = parseDuration(value);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
    if (ms < min || ms > max) {
      ctx.addIssue({ code: 'custom', message: `must be between ${min} ms and ${max} ms (got ${ms})` });
      return z.NEVER;
    }
    return ms;
  });
}
