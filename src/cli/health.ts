/** `longrun health`: a worker's health report over HTTP (served by src/worker/health.ts). */
import { loadConfig } from '../runtime/config';
import { ValidationError } from '../shared/validation';
import { EXIT } from '../runtime/exit-codes';
import type { HealthReport } from '../worker/health';
import { healthText } from './health-format';

/**
 * `longrun health [--url] [--json]`: prints a worker's health report (text, or the JSON as served); returns the exit code (0 when the worker
 * answers 200, healthy or degraded; 1 when it answers 503). Without `url`, asks the worker of this
 * environment (`http://127.0.0.1:$LONGRUN_HEALTH_PORT/health`). Throws when it cannot be reached.
 */
export async function printHealth(
  url: string | undefined,
  out: NodeJS.WritableStream = process.stdout,
  opts: { json?: boolean } = {}
): Promise<number> {
  let target = url;
  if (target === undefined) {
    const health = loadConfig().health;
    if (!health) {
      throw new ValidationError('arguments', [
        { path: '--url', rule: 'is required when LONGRUN_HEALTH_PORT is not set' },
      ]);
    }
    const host = health.host === '0.0.0.0' || health.host === '::' ? '127.0.0.1' : health.host;
    target = `http://${host.includes(':') ? `[${host}]` : host}:${health.port}/health`;
  }
  let res: Response;
  try {
    res = await fetch(target, { signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    const cause = (err as { cause?: { code?: unknown } }).cause;
    const detail =
      typeof cause?.code === 'string' ? cause.code : err instanceof Error ? err.message : String(err);
    throw new Error(`cannot reach the worker's health report at ${target} (${detail})`);
  }
  const text = await res.text();
  let report: HealthReport | undefined;
  try {
    report = JSON.parse(text) as HealthReport;
  } catch {
    report = undefined; // not a longrun worker's report: show what came back
  }
  out.write(opts.json || !report?.pid ? text : healthText(report));
  return res.status === 200 ? EXIT.ok : EXIT.failure;
}
