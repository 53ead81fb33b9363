/**
 * The example service (examples/service.ts), which imports only the package: real HTTP on loopback,
 * a real dev server and worker behind it.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { join } from 'node:path';
import type { TaskProgress } from 'longrun';
import { createTaskService } from '../../examples/service';
import { useWorkerEnv } from '../support/temporal';
import { testActions } from '../support/test-actions';
import { waitFor } from '../support/worker-process';

const TASK_QUEUE = 'service-test';
const t = useWorkerEnv({ taskQueue: TASK_QUEUE, actions: testActions });
let server: Server;
let base: string;

beforeAll(async () => {
  server = createTaskService(t.longrun);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
});

async function call(
  method: string,
  path: string,
  body?: unknown
): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: await res.json() };
}

describe('example task service', () => {
  it('starts, pauses, resumes and streams a task over HTTP, with 400/404/409 for bad requests', async () => {
    const ledger = join(t.dir, 'svc.ledger');
    const spec = {
      v: 1,
      taskId: 'svc-1',
      agent: 'svc',
      phases: [
        {
          id: 'p',
          steps: [{ id: 's', action: 'test.slow', input: { ledger, label: 's', items: 300, itemMs: 10 } }],
        },
      ],
    };
    expect(await call('POST', '/tasks', spec)).toMatchObject({
      status: 201,
      json: { taskId: 'svc-1', started: true },
    });
    expect(await call('POST', '/tasks', spec)).toMatchObject({ status: 200, json: { started: false } });

    const bad = await call('POST', '/tasks', { v: 1, taskId: 'svc-2', phases: [] });
    expect(bad.status).toBe(400);
    expect((bad.json as { issues: unknown[] }).issues).toEqual(
      expect.arrayContaining([expect.objectContaining({ path: 'spec.agent' })])
    );
    expect((await call('GET', '/tasks/nope')).status).toBe(404);
    expect((await call('POST', '/tasks/nope/pause')).status).toBe(404);

    await waitFor('items', async () =>
      ((await call('GET', '/tasks/svc-1')).json as TaskProgress).items ? true : undefined
    );
    expect(await call('POST', '/tasks/svc-1/resume')).toMatchObject({
      status: 409,
      json: { reason: expect.stringMatching(/not paused/) },
    });
    expect(await call('POST', '/tasks/svc-1/extend', { by: 'soon' })).toMatchObject({ status: 400 });
    expect(await call('POST', '/tasks/svc-1/pause', { reason: 'via HTTP' })).toMatchObject({
      status: 200,
      json: { state: 'paused' },
    });
    const listed = await call('GET', '/tasks?state=paused&agent=svc');
    await waitFor(
      'listed',
      async () =>
        ((await call('GET', '/tasks?state=paused&agent=svc')).json as unknown[]).length === 1 || undefined
    );
    expect(listed.status).toBe(200);

    // Server-Sent Events follow the task to its end.
    const stream = fetch(`${base}/tasks/svc-1/events`).then((res) => res.text());
    const resumed = await call('POST', '/tasks/svc-1/resume');
    expect(resumed.status).toBe(200);
    // The answer comes as soon as the task is no longer paused: resuming until its step runs again.
    expect(['resuming', 'executing']).toContain((resumed.json as { state: string }).state);
    const events = (await stream).split('\n\n').filter((e) => e.startsWith('event: progress'));
    const states = events.map((e) => (JSON.parse(e.split('data: ')[1] as string) as TaskProgress).state);
    expect(states[states.length - 1]).toBe('completed');
    const logs = await call('GET', '/tasks/svc-1/logs');
    expect((logs.json as { message: string }[]).map((e) => e.message)).toContain('pause requested: via HTTP');
  });
});
