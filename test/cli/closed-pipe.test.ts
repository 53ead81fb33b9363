/** `longrun --help | head -1`: a reader that goes away ends the command quietly, exit 0, no stack trace. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

it('ends quietly with exit 0 when its reader closes the pipe', async () => {
  const child = spawn(process.execPath, [join(__dirname, '..', '..', 'bin', 'longrun.js'), '--help'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  // Read one chunk, as `head -c` would, then close our end while the CLI may still be writing.
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  child.stdout.destroy();
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
});
