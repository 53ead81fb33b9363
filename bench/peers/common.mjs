// Helpers shared by bench/peers.mjs and the per-system drivers beside this file.
//
// Every system runs its work (the items) in a process of its own, the "work process": a Temporal
// worker, a Restate service endpoint, a DBOS or LangGraph app. The orchestrator starts it with
// spawnWork(), which resolves once the process prints `ready` on stdout, so that workload (c) can
// SIGKILL a real process and time a real restart.
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PEERS_DIR = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = join(PEERS_DIR, '..', '..');
/** require() from the repository root: the project's own packages (Temporal SDK, dist/). */
export const requireRepo = createRequire(join(REPO_ROOT, 'package.json'));
/** require() from bench/peers: the peers installed as bench-only dependencies. */
export const requirePeers = createRequire(join(PEERS_DIR, 'package.json'));

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A package's installed version (read from its package.json, so the report names what really ran). */
export function versionOf(req, name) {
  for (const base of req.resolve.paths(name) ?? []) {
    const file = join(base, name, 'package.json');
    if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')).version;
  }
  return 'unknown';
}

/**
 * The item of workloads (b) and (c), the same in every system: append `index pid` to a ledger file
 * (no fsync: the ledger is the benchmark's own observation, not the system's persistence). An index
 * that appears twice was done twice (redone after a crash).
 */
export function ledgerItem(ledger, index) {
  appendFileSync(ledger, `${index} ${process.pid}\n`);
  return index;
}

export function readLedger(path) {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.includes(' '))
    .map((line) => {
      const [index, pid] = line.split(' ').map(Number);
      return { index, pid };
    });
}

export async function waitFor(what, probe, timeoutMs = 300_000, everyMs = 10) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Every child process this run started, so that a failure or Ctrl-C can still kill them all. */
export const children = new Set();

/**
 * Starts a work process: `node <script> ...args`; resolves with { child, pid, exited } once the
 * process writes a line `ready` to stdout. Its stderr goes to ours (prefixed), so failures are seen.
 */
export function spawnWork(script, args, { env = {}, name = 'work', timeoutMs = 120_000 } = {}) {
  const child = spawn(process.execPath, [script, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  void exited.then(() => children.delete(child));
  child.stderr.on('data', (d) => {
    for (const line of String(d).split('\n')) if (line.trim()) process.stderr.write(`  [${name}] ${line}\n`);
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${name}: not ready after ${timeoutMs} ms`)), timeoutMs);
    child.stdout.on('data', (d) => {
      out += d;
      if (/^ready$/m.test(out)) {
        clearTimeout(timer);
        resolve({ child, pid: child.pid, exited });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code}) before it was ready`));
    });
  });
}

/** SIGKILLs a work process and waits until it is gone (so its port and locks are free again). */
export async function killWork(work) {
  if (!work || work.child.exitCode !== null || work.child.signalCode !== null) return;
  work.child.kill('SIGKILL');
  await work.exited;
}

/** Stops a work process gently (SIGTERM), then SIGKILL after `graceMs`. */
export async function stopWork(work, graceMs = 5000) {
  if (!work || work.child.exitCode !== null || work.child.signalCode !== null) return;
  work.child.kill('SIGTERM');
  const timer = setTimeout(() => work.child.kill('SIGKILL'), graceMs);
  await work.exited;
  clearTimeout(timer);
}

/**
 * The work process side of DBOS and LangGraph, which have no server of their own to call through:
 * a small JSON-over-HTTP app on loopback, as a real app built on either would expose (POST bodies are
 * JSON; each route answers with JSON). Prints `ready` once it listens.
 */
export function serveJson(port, routes) {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', async () => {
      const route = routes[new URL(req.url, 'http://x').pathname];
      try {
        if (!route) throw new Error(`no route ${req.url}`);
        const result = await route(body ? JSON.parse(body) : {});
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(result ?? null));
      } catch (err) {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(String(err?.stack ?? err));
      }
    });
  });
  server.keepAliveTimeout = 60_000;
  return new Promise((resolve) =>
    server.listen(port, '127.0.0.1', () => {
      process.stdout.write('ready\n');
      resolve(server);
    })
  );
}

/** The orchestrator side of serveJson: POST a JSON body, return the JSON answer. */
export async function postJson(url, body) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body ?? {}),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`POST ${url}: ${res.status} ${text.slice(0, 500)}`);
  return text ? JSON.parse(text) : null;
}
