/**
 * A worker that cannot start stops at once with one line naming the variable and its value: no
 * stack trace, no warnings logged for ever. Real worker processes against a real dev server.
 */
import { useServerAndWorkers } from '../support/temporal';

const t = useServerAndWorkers('worker-startup');

describe('worker startup errors', () => {
  it.each([
    [
      { TEMPORAL_NAMESPACE: 'no-such-namespace' },
      'TEMPORAL_NAMESPACE="no-such-namespace": no such namespace on',
    ],
    [{ TEMPORAL_ADDRESS: 'nonsense' }, 'TEMPORAL_ADDRESS="nonsense": the host does not resolve'],
    [
      { TEMPORAL_ADDRESS: '127.0.0.1:1' },
      'TEMPORAL_ADDRESS="127.0.0.1:1": is the server running and reachable?',
    ],
    [
      { LONGRUN_MAX_CHECKPOINT_INTERVAL_MS: 'abc' },
      'LONGRUN_MAX_CHECKPOINT_INTERVAL_MS="abc": Invalid input',
    ],
    [{ LONGRUN_WEBHOOK_SECRET: 'x', LONGRUN_DEV_PORT: '99999' }, 'LONGRUN_DEV_PORT="99999": Too big'],
  ])('%j: exits 2 at once, naming it', async (vars, message) => {
    const startedAt = Date.now();
    const worker = t.spawn({ TEMPORAL_ADDRESS: t.env.address, ...vars });
    expect(await worker.exited).toBe(2);
    expect(Date.now() - startedAt).toBeLessThan(15_000);
    const output = worker.output();
    expect(output).toContain(message);
    expect(output).not.toMatch(/\n\s+at /); // no stack trace
    expect(output.trim().split('\n')).toHaveLength(1);
  });
});
