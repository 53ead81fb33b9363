/**
 * Durations as people write them ("90s", "15m", "2h", "1d", "1h30m") and as people read them
 * ("2h 05m"). Pure; shared by spec validation, control requests, the CLI and progress text.
 */
/** The longest duration text accepted ("1d2h3m4s500ms" is 13). */
export const MAX_DURATION_CHARS = 40;

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Parses "90s", "15m", "2h", "1d", "1h30m", "500ms" or a number of milliseconds. Throws an `Error`
 * saying what is accepted; zero and negative durations are rejected.
 */
export function parseDuration(value: string | number): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value <= 0) throw new Error(`must be a positive duration (got ${value})`);
    return Math.round(value);
  }
  // Checked before any pattern runs: a long run of digits makes the unit search below quadratic, and
  // durations reach the workflow from anyone who can send it an update.
  if (value.length > MAX_DURATION_CHARS) {
    throw new Error(`must be a duration like 90s, 15m, 2h, 1d or 1h30m (got ${value.length} characters)`);
  }
  const text = value.trim().toLowerCase();
  if (/^\d+$/.test(text)) return parseDuration(Number(text));
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;
  let total = 0;
  let consumed = 0;
  for (const match of text.matchAll(re)) {
    if (match.index !== consumed) break;
    total += Number(match[1]) * (DURATION_UNITS[match[2] as string] as number);
    consumed += match[0].length;
  }
  if (text.startsWith('-')) throw new Error(`must be a positive duration (got "${value}")`);
  if (consumed === 0 || consumed !== text.length) {
    throw new Error(`must be a duration like 90s, 15m, 2h, 1d or 1h30m (got "${value}")`);
  }
  if (total <= 0) throw new Error(`must be a positive duration (got "${value}")`);
  return Math.round(total);
}

/** "2h 05m", "4m 10s", "12s": a short human duration. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  // Under a second: rounding to whole seconds would say a 500 ms limit is "1s".
  if (ms > 0 && ms < 950) return `${Math.round(ms)}ms`;
  const s = Math.round(ms / 1000);
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3_600);
  const m = Math.floor((s % 3_600) / 60);
  const sec = s % 60;
  if (d > 0) return `${d}d ${String(h).padStart(2, '0')}h`;
  if (h > 0) return `${h}h ${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m ${String(sec).padStart(2, '0')}s`;
  return `${sec}s`;
}
