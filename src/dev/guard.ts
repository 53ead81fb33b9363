/**
 * The dev server's guard: `node guard.js PID_FILE CLI ARGS...` starts the Temporal dev server and stops
 * it as soon as its parent (`longrun dev`) is gone, whatever killed the parent, even SIGKILL: the
 * parent holds the write end of this process's stdin, and the kernel closes it when the parent dies.
 * Node cannot ask the kernel for a parent-death signal, so a pipe is the portable way.
 */
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';

/** How long the server gets to stop after SIGTERM before SIGKILL. */
const STOP_GRACE_MS = 10_000;

function main(): void {
  const [pidFile, cliPath, ...args] = process.argv.slice(2);
  if (!pidFile || !cliPath) {
    console.error('usage: guard PID_FILE TEMPORAL_CLI ARGS...');
    process.exit(2);
  }
  // The server shares this process's stdout and stderr: the dev server's log file.
  const server = spawn(cliPath, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  if (server.pid === undefined) process.exit(1);
  writeFileSync(pidFile, String(server.pid));
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    server.kill('SIGTERM');
    setTimeout(() => server.kill('SIGKILL'), STOP_GRACE_MS).unref();
  };
  server.once('exit', (code, signal) => {
    rmSync(pidFile, { force: true });
    process.exit(code ?? (signal ? 128 + 15 : 1));
  });
  process.stdin.on('end', stop);
  process.stdin.on('close', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, stop);
}

main();
