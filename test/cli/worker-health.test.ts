/**
 * The worker process serves its health report when LONGRUN_HEALTH_PORT is set, `longrun health`
 * prints it, and SIGTERM stops the worker cleanly.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import type { HealthReport } from '../../src/worker/health';
import { freePort } from '../support/ports';
import { useServerAndWorkers } from '../support/temporal';
import { waitFor } from '../support/worker-process';

const ROOT = join(__dirname, '..', '..');
const t = useServerAndWorkers('health');

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(ROOT, 'bin', 'longrun.js'), ...args],
      { timeout: 30_000 },
      (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr })
    );
  });
}

it('serves GET /health from the worker process, prints it with longrun health, and exits 0 on SIGTERM', async () => {
  const port = await freePort();
  const worker = t.spawn({
    TEMPORAL_ADDRESS: t.env.address,
    LONGRUN_TASK_QUEUE: 'health-test',
    LONGRUN_DATA_DIR: join(t.dir, 'data'),
    LONGRUN_HEALTH_PORT: String(port),
  });
  const url = `http://127.0.0.1:${port}/health`;
  const report = await waitFor(
    'the health report',
    async () => {
      try {
        const res = await fetch(url);
        return res.status === 200 ? ((await res.json()) as HealthReport) : undefined;
      } catch {
        return undefined;
      }
    },
    60_000,
    200
  );
  expect(report).toMatchObject({
    status: 'ok',
    pid: worker.pid,
    worker: { state: 'RUNNING', runningSteps: 0 },
    breakers: [],
  });
  expect(report.memory.rssBytes).toBeGreaterThan(0);

  const printed = await cli('health', '--url', url, '--json');
  expect(printed.code).toBe(0);
  expect((JSON.parse(printed.stdout) as HealthReport).pid).toBe(worker.pid);
  const unreachable = await cli('health', '--url', 'http://127.0.0.1:1/health');
  expect(unreachable.code).toBe(1);
  expect(unreachable.stderr).toContain(
    "cannot reach the worker's health report at http://127.0.0.1:1/health"
  );

  worker.child.kill('SIGTERM');
  expect(await worker.exited).toBe(0);
});
