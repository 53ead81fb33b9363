/**
 * Worker entry point: `node dist/worker.js` (or `longrun worker`). Connects to TEMPORAL_ADDRESS
 * (default 127.0.0.1:7233) and runs longrun tasks until SIGINT/SIGTERM, then drains and exits.
 */

import { loadConfig } from './runtime/config';
import { createLongrunWorker } from './runtime/worker-factory';

export async function runWorker(): Promise<void> {
  const config = loadConfig();
  const address = config.address ?? `127.0.0.1:${config.devPort}`;
  const { worker, connection } = await createLongrunWorker({ config, address });
  console.error(
    `longrun worker ${process.pid}: task queue "${config.taskQueue}" on ${address}/${config.namespace}`
  );
  try {
    await worker.run();
  } finally {
    await connection.close();
  }
}

if (require.main === module) {
  runWorker().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
