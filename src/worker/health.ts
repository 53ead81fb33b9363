/**
 * The worker's health report: its circuit breakers, running steps, uptime and memory, as JSON over
 * HTTP (`GET /health`) when `LONGRUN_HEALTH_PORT` is set.
 *
 * The answer is 200 while the worker runs, even with open circuits or a resource mode other than
 * normal (`status: "degraded"`): an LLM outage or a busy machine is not cured by restarting the
 * worker, which would also forget its circuits. It is 503 once the worker stops polling (stopping,
 * draining, stopped or failed), so an orchestrator can replace it.
 *
 * @example
 * ```ts
 * const health = await startHealthServer({ port: 9464, report: () => healthReport({ worker }) });
 * await worker.run();
 * await health.close();
 * ```
 *
 * `longrun health` (src/cli/health.ts) prints the report.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { breakerStates, type BreakerStatus } from '../activities/circuit-breakers';
import type { ResourceReport } from '../runtime/resource-monitor';

export const HEALTH_STATUSES = ['ok', 'degraded', 'unavailable'] as const;
/** ok: running, circuits closed, mode normal; degraded: an open circuit or another mode; unavailable: not polling. */
export type HealthStatus = (typeof HEALTH_STATUSES)[number];

export interface HealthReport {
  status: HealthStatus;
  pid: number;
  /** Process start (ISO 8601). */
  startedAt: string;
  uptimeMs: number;
  memory: { rssBytes: number; heapUsedBytes: number; heapTotalBytes: number; externalBytes: number };
  /** The Temporal worker's run state (`RUNNING`, `STOPPING`, ...) and steps in flight; null: no worker. */
  worker: { state: string; runningSteps: number } | null;
  breakers: BreakerStatus[];
  /** Levels, mode, trends and thresholds of the resource monitor; null: no monitor. */
  resources: ResourceReport | null;
}

/** What the report needs of a Temporal `Worker` (its `getStatus()`). */
export interface WorkerStatusSource {
  getStatus(): { runState: string; numInFlightNonLocalActivities: number };
}

export function healthReport(
  opts: {
    worker?: WorkerStatusSource;
    breakers?: () => BreakerStatus[];
    resources?: { report(): ResourceReport };
    now?: () => number;
  } = {}
): HealthReport {
  const now = (opts.now ?? Date.now)();
  const uptimeMs = Math.round(process.uptime() * 1000);
  const memory = process.memoryUsage();
  const status = opts.worker?.getStatus();
  const breakers = (opts.breakers ?? breakerStates)();
  const running = status === undefined || status.runState === 'RUNNING' || status.runState === 'INITIALIZED';
  const resources = opts.resources?.report() ?? null;
  const degraded =
    breakers.some((b) => b.state === 'open') || (resources !== null && resources.mode !== 'normal');
  return {
    status: !running ? 'unavailable' : degraded ? 'degraded' : 'ok',
    pid: process.pid,
    startedAt: new Date(now - uptimeMs).toISOString(),
    uptimeMs,
    memory: {
      rssBytes: memory.rss,
      heapUsedBytes: memory.heapUsed,
      heapTotalBytes: memory.heapTotal,
      externalBytes: memory.external,
    },
    worker: status ? { state: status.runState, runningSteps: status.numInFlightNonLocalActivities } : null,
    breakers,
    resources,
  };
}

/** 503 when the worker is not polling; 200 otherwise, open circuits included (see the module doc). */
export function healthHttpStatus(report: HealthReport): 200 | 503 {
  return report.status === 'unavailable' ? 503 : 200;
}

export interface HealthServer {
  /** `http://host:port/health` */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Serves `GET /health` (JSON report) and `GET /metrics` (Prometheus) on `host:port`; port 0 picks a free one. */
export async function startHealthServer(opts: {
  port: number;
  /** @default "127.0.0.1" */
  host?: string;
  report: () => HealthReport;
  /** The Prometheus text of `GET /metrics`; unset: 404. */
  metrics?: () => Promise<string>;
}): Promise<HealthServer> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics' && opts.metrics && (req.method === 'GET' || req.method === 'HEAD')) {
      opts.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
          res.end(req.method === 'HEAD' ? undefined : text);
        },
        (err: unknown) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`# metrics failed: ${err instanceof Error ? err.message : String(err)}\n`);
        }
      );
      return;
    }
    if (path !== '/health') {
      res
        .writeHead(404, { 'content-type': 'application/json' })
        .end(`{"error":"not found: try GET /health${opts.metrics ? ' or GET /metrics' : ''}"}`);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res
        .writeHead(405, { allow: 'GET, HEAD', 'content-type': 'application/json' })
        .end('{"error":"use GET"}');
      return;
    }
    let report: HealthReport;
    try {
      report = opts.report();
    } catch (err) {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: err instanceof Error ? err.message : String(err) }));
      return;
    }
    res.writeHead(healthHttpStatus(report), {
      'content-type': 'application/json',
      'cache-control': 'no-store',
    });
    res.end(req.method === 'HEAD' ? undefined : `${JSON.stringify(report, null, 2)}\n`);
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/health`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
