import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

/** Folder of this package (works from `src/runtime` under ts and `dist/runtime` when built). */
export const PACKAGE_ROOT = join(__dirname, '..', '..');

/**
 * Path of a `temporal` CLI binary: runs `scripts/provision-temporal.mjs`, which finds, builds (Go) or
 * downloads it once and caches it under `.tools/`. Progress messages go to this process's stderr.
 */
export function temporalCliPath(opts: { quiet?: boolean } = {}): string {
  const script = join(PACKAGE_ROOT, 'scripts', 'provision-temporal.mjs');
  const result = spawnSync(process.execPath, [script, ...(opts.quiet ? ['--quiet'] : [])], {
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  });
  const path = result.stdout.trim().split('\n').pop();
  if (result.status !== 0 || !path) {
    throw new Error(
      `could not provision the Temporal CLI (exit ${result.status ?? result.signal}); see above`
    );
  }
  return path;
}
