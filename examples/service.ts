/**
 * Another service steering longrun tasks with nothing but the package import: a small JSON-over-HTTP
 * API in front of the typed client.
 *
 *   POST /tasks                  body: a task spec            -> 201 { taskId, runId, started }
 *   GET  /tasks?state=&agent=                                  -> [TaskSummary]
 *   GET  /tasks/:id                                            -> TaskProgress
 *   GET  /tasks/:id/logs                                       -> [ActivityEntry]
 *   GET  /tasks/:id/events       Server-Sent Events, one `progress` event per change until the task ends
 *   POST /tasks/:id/pause|resume|cancel|extend|checkpoint      body: the request -> TaskProgress or record
 *
 * Errors: 400 bad input (field and rule), 404 unknown task, 409 refused by the task's state.
 *
 * Copy it into a service that depends on `longrun` and call `main()` (PORT, default 8080;
 * TEMPORAL_ADDRESS, default the local dev server). `test/examples/service.test.ts` runs it against a
 * real dev server.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import {
  InvalidTransitionError,
  LongrunClient,
  UnknownTaskError,
  ValidationError,
  type ListFilter,
} from 'longrun';

const CONTROL = ['pause', 'resume', 'cancel', 'extend', 'checkpoint'] as const;
type Control = (typeof CONTROL)[number];

export function createTaskService(longrun: LongrunClient): Server {
  return createServer((req, res) => {
    handle(longrun, req, res).catch((err: unknown) => sendError(res, err));
  });
}

async function handle(longrun: LongrunClient, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://service');
  const [, root, id, action] = url.pathname.split('/');
  if (root !== 'tasks') return send(res, 404, { error: `no route ${url.pathname}` });

  if (!id && req.method === 'POST') {
    const started = await longrun.start((await body(req)) as Record<string, unknown>);
    return send(res, started.started ? 201 : 200, {
      taskId: started.taskId,
      runId: started.runId,
      started: started.started,
    });
  }
  if (!id && req.method === 'GET') {
    const filter: ListFilter = {};
    const state = url.searchParams.get('state');
    const agent = url.searchParams.get('agent');
    if (state) filter.state = state as ListFilter['state'];
    if (agent) filter.agent = agent;
    return send(res, 200, await longrun.list(filter));
  }
  if (!id) return send(res, 405, { error: `${req.method} /tasks is not supported` });

  if (req.method === 'GET' && !action) return send(res, 200, await longrun.progress(id));
  if (req.method === 'GET' && action === 'logs') return send(res, 200, await longrun.logs(id));
  if (req.method === 'GET' && action === 'events') {
    const task = await longrun.get(id); // 404 before the stream starts
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const stop = new AbortController();
    req.on('close', () => stop.abort());
    for await (const progress of task.watch({ intervalMs: 500, signal: stop.signal })) {
      res.write(`event: progress\ndata: ${JSON.stringify(progress)}\n\n`);
    }
    res.end();
    return;
  }
  if (req.method === 'POST' && (CONTROL as readonly string[]).includes(action ?? '')) {
    const request = (await body(req)) as Record<string, unknown>;
    const task = await longrun.get(id);
    switch (action as Control) {
      case 'pause':
        return send(res, 200, await task.pause(request));
      case 'resume':
        return send(res, 200, await task.resume(request));
      case 'cancel':
        return send(res, 200, await task.cancel(request));
      case 'extend':
        return send(res, 200, await task.extend(request));
      case 'checkpoint':
        return send(res, 200, await task.checkpoint(typeof request.label === 'string' ? request.label : ''));
    }
  }
  send(res, 404, { error: `no route ${req.method} ${url.pathname}` });
}

async function body(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (!text) return {};
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ValidationError('request body', [
      { path: 'body', rule: `must be JSON (${(err as Error).message})` },
    ]);
  }
}

function send(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(value));
}

function sendError(res: ServerResponse, err: unknown): void {
  if (res.headersSent) return void res.end();
  if (err instanceof ValidationError) return send(res, 400, { error: err.message, issues: err.issues });
  if (err instanceof UnknownTaskError) return send(res, 404, { error: err.message });
  if (err instanceof InvalidTransitionError)
    return send(res, 409, { error: err.message, reason: err.reason });
  send(res, 500, { error: err instanceof Error ? err.message : String(err) });
}

/** Runs the service on PORT (default 8080) against TEMPORAL_ADDRESS (default: the local dev server). */
export async function main(): Promise<void> {
  const longrun = await LongrunClient.connect();
  const port = Number(process.env.PORT ?? 8080);
  createTaskService(longrun).listen(port, () =>
    console.log(`task service on http://localhost:${port}/tasks`)
  );
}
