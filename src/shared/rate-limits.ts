/**
 * When a rate-limited provider's quota resets, read from what it answered: `Retry-After`, the
 * `x-ratelimit-reset-*` headers (OpenAI's "6m0s" form, seconds, epoch seconds or a date), Anthropic's
 * `anthropic-ratelimit-*-reset` dates, or a reset time in the error body ("try again in 20s",
 * `retryDelay`, `reset_at`). Pure.
 */
import { retryAfterMs } from './failures';

export interface QuotaReset {
  /** How long until the quota resets, ms from `now`. */
  ms: number;
  /** Where it was read: a header name or `body`. */
  source: string;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "6m0s", "1.5s", "20ms", "1h2m" → ms; null when not in that form. */
export function goDurationMs(text: string): number | null {
  const trimmed = text.trim();
  if (!/^(\d+(\.\d+)?(ms|s|m|h|d))+$/.test(trimmed)) return null;
  let total = 0;
  for (const [, num, unit] of trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g))
    total += Number(num) * (UNIT_MS[unit as string] as number);
  return Math.round(total);
}

/** A reset value: a duration ("6m0s"), seconds ("30"), epoch seconds or ms, or a date. */
function resetValueMs(value: string, now: number): number | null {
  const text = value.trim();
  if (text === '') return null;
  const go = goDurationMs(text);
  if (go !== null) return go;
  if (/^\d+(\.\d+)?$/.test(text)) {
    const n = Number(text);
    if (n > 1e12) return Math.max(0, n - now); // epoch ms
    if (n > 1e9) return Math.max(0, n * 1000 - now); // epoch seconds
    return Math.round(n * 1000); // seconds from now
  }
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

const RESET_HEADER = /^(x-ratelimit-reset|anthropic-ratelimit-[a-z-]+-reset|ratelimit-reset)(-[a-z-]+)?$/;

/**
 * The quota's reset, or null when the answer does not say. With several reset headers, the one whose
 * `remaining` counterpart is exhausted ("0") wins; else the latest reset.
 */
export function quotaReset(
  headers: Readonly<Record<string, string | null | undefined>>,
  body: string,
  now: number
): QuotaReset | null {
  const lower = Object.fromEntries(
    Object.entries(headers)
      .filter((e): e is [string, string] => typeof e[1] === 'string')
      .map(([k, v]) => [k.toLowerCase(), v])
  );
  const retry = retryAfterMs(lower['retry-after'], now, Number.MAX_SAFE_INTEGER);
  if (retry !== null) return { ms: retry, source: 'retry-after' };
  const resets: Array<QuotaReset & { exhausted: boolean }> = [];
  for (const [name, value] of Object.entries(lower)) {
    if (!RESET_HEADER.test(name)) continue;
    const ms = resetValueMs(value, now);
    if (ms === null) continue;
    const remaining = lower[name.replace(/reset(?=(-[a-z-]+)?$)/, 'remaining')];
    resets.push({ ms, source: name, exhausted: remaining !== undefined && Number(remaining) <= 0 });
  }
  const pool = resets.some((r) => r.exhausted) ? resets.filter((r) => r.exhausted) : resets;
  const latest = pool.sort((a, b) => b.ms - a.ms)[0];
  if (latest) return { ms: latest.ms, source: latest.source };
  return bodyReset(body, now);
}

function bodyReset(body: string, now: number): QuotaReset | null {
  const again = /try again in ((?:\d+(?:\.\d+)?(?:ms|s|m|h))+|\d+(?:\.\d+)? ?(?:seconds?|secs?))/i.exec(body);
  if (again?.[1]) {
    const text = again[1].replace(/ ?(seconds?|secs?)$/i, 's');
    const ms = goDurationMs(text);
    if (ms !== null) return { ms, source: 'body' };
  }
  const delay = /"retryDelay"\s*:\s*"([^"]+)"/.exec(body);
  if (delay?.[1]) {
    const ms = goDurationMs(delay[1]);
    if (ms !== null) return { ms, source: 'body' };
  }
  const at = /"(?:reset_at|resets_at|reset_time|resetAt)"\s*:\s*"?([^",}]+)"?/.exec(body);
  if (at?.[1]) {
    const ms = resetValueMs(at[1], now);
    if (ms !== null) return { ms, source: 'body' };
  }
  return null;
}
