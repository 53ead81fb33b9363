/** Small facts about local processes and ports, for the servers longrun starts (dev and cluster). */
import { existsSync, readFileSync } from 'node:fs';
import { createConnection } from 'node:net';

/** Whether something accepts TCP connections on host:port. */
export function portOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const socket = createConnection({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolvePromise(true);
    });
    socket.once('error', () => resolvePromise(false));
  });
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A process's command line, arguments joined by spaces (Linux /proc); undefined elsewhere or once gone. */
export function commandLine(pid: number): string | undefined {
  const file = `/proc/${pid}/cmdline`;
  return existsSync(file) ? readFileSync(file, 'utf8').replace(/\0/g, ' ') : undefined;
}
