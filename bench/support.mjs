// Helpers shared by the benchmarks.
import { createServer } from 'node:net';

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
