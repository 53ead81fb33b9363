/**
 * The dev server never outlives `longrun dev`: real processes, real signals. A closed terminal
 * (SIGHUP) and a SIGKILLed `longrun dev` leave no server; a server left behind by an earlier run whose
 * guard died too is replaced; a second `longrun dev` on a folder in use is refused and changes nothing.
 * And the first run shows items, speed and an ETA, with the SDK's log lines in a file, not on screen.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../support/ports';
import { waitFor } from '../support/worker-process';

const ROOT = join(__dirname, '..', '..');
const CLI = join(ROOT, 'bin', 'longrun.js');

jest.setTimeout(180_000);

let dir: string;
const started: ChildProcess[] = [];

interface Dev {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function startDev(dataDir: string, port: number, uiPort: number, args: string[] = ['--no-demo']): Dev {
  let output = '';
  const child = spawn(process.execPath, [CLI, 'dev', ...args], {
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: '',
      LONGRUN_DATA_DIR: dataDir,
      LONGRUN_DEV_PORT: String(port),
      LONGRUN_DEV_UI_PORT: String(uiPort),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

async function ready(dev: Dev): Promise<void> {
  await waitFor(
    'longrun dev to be ready',
    () => (/Worker running the actions/.test(dev.output()) ? true : undefined),
    90_000,
    100
  );
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function serverPid(dataDir: string): number {
  return Number(readFileSync(join(dataDir, 'dev-server.pid'), 'utf8').trim());
}

/** The parent of a process (field 4 of /proc/PID/stat). */
function parentOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function gone(pid: number, port: number, withinMs: number): Promise<void> {
  await waitFor(
    `server ${pid} to be gone and port ${port} free`,
    async () => (!alive(pid) && !(await portOpen(port)) ? true : undefined),
    withinMs,
    100
  );
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'longrun-dev-lifecycle-'));
});

afterAll(() => {
  for (const child of started)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

test('closing the terminal (SIGHUP) drains the worker and stops the server', async () => {
  const data = join(dir, 'hup');
  const [port, ui] = [await freePort(), await freePort()];
  const dev = startDev(data, port, ui);
  await ready(dev);
  const server = serverPid(data);
  expect(alive(server)).toBe(true);
  dev.child.kill('SIGHUP');
  expect(await dev.exited).toBe(0);
  await gone(server, port, 15_000);
  expect(existsSync(join(data, 'dev-owner.json'))).toBe(false);
});

test('a SIGKILLed longrun dev leaves no server: its guard stops it', async () => {
  const data = join(dir, 'kill');
  const [port, ui] = [await freePort(), await freePort()];
  const dev = startDev(data, port, ui);
  await ready(dev);
  const server = serverPid(data);
  dev.child.kill('SIGKILL');
  await dev.exited;
  await gone(server, port, 20_000);
});

test('a server left by a dead longrun dev whose guard died too is replaced by the next run', async () => {
  const data = join(dir, 'stale');
  const [port, ui] = [await freePort(), await freePort()];
  const first = startDev(data, port, ui);
  await ready(first);
  const oldServer = serverPid(data);
  const guard = parentOf(oldServer);
  expect(guard).not.toBe(first.child.pid);
  process.kill(guard, 'SIGKILL');
  first.child.kill('SIGKILL');
  await first.exited;
  await new Promise((r) => setTimeout(r, 500));
  expect(alive(oldServer)).toBe(true); // orphaned: what an old longrun dev or a kill -9 of the group leaves

  const second = startDev(data, port, ui);
  await ready(second);
  expect(alive(oldServer)).toBe(false);
  const newServer = serverPid(data);
  expect(newServer).not.toBe(oldServer);
  second.child.kill('SIGINT');
  expect(await second.exited).toBe(0);
  await gone(newServer, port, 15_000);
});

test('a second longrun dev on a data folder in use is refused at once and the first runs on', async () => {
  const data = join(dir, 'twice');
  const [port, ui] = [await freePort(), await freePort()];
  const first = startDev(data, port, ui);
  await ready(first);
  const server = serverPid(data);
  const second = startDev(data, port, ui);
  expect(await second.exited).not.toBe(0);
  expect(second.output()).toContain(`another longrun dev (pid ${first.child.pid}`);
  expect(second.output()).toContain('LONGRUN_DATA_DIR');
  expect(alive(server)).toBe(true);
  expect(first.child.exitCode).toBeNull();
  first.child.kill('SIGINT');
  expect(await first.exited).toBe(0);
  await gone(server, port, 15_000);
});

test('the first run shows items, speed and an ETA before the demo ends; SDK logs go to a file', async () => {
  const data = join(dir, 'demo');
  const [port, ui] = [await freePort(), await freePort()];
  const dev = startDev(data, port, ui, ['--exit-on-complete']);
  expect(await dev.exited).toBe(0);
  const output = dev.output();
  const lines = output.split('\n');
  const done = lines.findIndex((l) => l.includes('completed:'));
  const withEta = lines.findIndex((l) => /items \| [\d.]+ items\/s \| ETA \d/.test(l));
  expect(withEta).toBeGreaterThan(-1);
  expect(withEta).toBeLessThan(done);
  expect(output).toContain(`Worker and SDK log: ${join(data, 'worker.log')}`);
  expect(readFileSync(join(data, 'worker.log'), 'utf8')).toContain('Worker state changed');
  expect(output).not.toMatch(/Worker state changed|temporalio_sdk_core/);
  expect(output).not.toContain('Run the same command again');
});
