// Helpers shared by the benchmarks.
import { createHash } from 'node:crypto';
import { createServer } from 'node:net';
import { performance } from 'node:perf_hooks';

/** A free TCP port on loopback. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * A Markdown table: `columns` are [header, align] pairs (align 'left' or 'right'), `rows` arrays of
 * cells in the same order.
 */
export function markdownTable(columns, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [
    line(columns.map(([header]) => header)),
    line(columns.map(([, align]) => (align === 'left' ? '---' : '---:'))),
    ...rows.map(line),
  ].join('\n');
}

/** One item of real CPU work: SHA-256 of `size` bytes with the item index stamped in. */
let buffer = Buffer.alloc(0);
export function work(index, size) {
  if (buffer.length !== size) buffer = Buffer.alloc(size, 7);
  buffer.writeUInt32LE(index, 0);
  return createHash('sha256').update(buffer).digest()[0];
}

/** The buffer size whose hash takes about `targetMs` on this machine (median of 5 timings). */
export function calibrate(targetMs) {
  const size = 1 << 20;
  work(0, size);
  const samples = Array.from({ length: 5 }, () => {
    const t = performance.now();
    for (let i = 0; i < 10; i++) work(i, size);
    return (performance.now() - t) / 10;
  }).sort((a, b) => a - b);
  return Math.max(1024, Math.round((size * targetMs) / samples[2]));
}
