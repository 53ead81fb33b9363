import { createServer } from 'node:net';

/** A TCP port that is free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))
      );
    });
  });
}

/** Whether 127.0.0.1:port can be bound right now. */
function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A frontend port for a native cluster whose every port (see `allPorts`) is free, picked at random
 * from 21000-33000 (membership ports must stay under 32768) so parallel runs rarely meet, plus free PostgreSQL and UI ports.
 */
export async function freeClusterPorts(): Promise<{ frontend: number; postgres: number; ui: number }> {
  const { allPorts } = await import('../../src/cluster/server-config');
  for (let attempt = 0; attempt < 50; attempt++) {
    const frontend = 21_000 + Math.floor(Math.random() * 12_000);
    const ports = { frontend, postgres: await freePort(), ui: await freePort() };
    const wanted = allPorts(ports);
    if (new Set(wanted).size !== wanted.length) continue;
    if ((await Promise.all(wanted.map(canBind))).every(Boolean)) return ports;
  }
  throw new Error('found no free block of ports for a cluster in 50 tries');
}
