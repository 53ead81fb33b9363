#!/usr/bin/env node
// Checks that package-lock.json installs with the npm of every Node version longrun supports (Node 20
// and 22 ship npm 10, Node 24 ships npm 11; npm 11 refuses a lock file that lacks another platform's
// optional packages). Runs `npm ci --dry-run` with each in a scratch copy: nothing is installed.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const NPM_MAJORS = [10, 11];
const root = fileURLToPath(new URL('..', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'longrun-lockfile-'));
let failed = false;
try {
  for (const file of ['package.json', 'package-lock.json'])
    copyFileSync(join(root, file), join(scratch, file));
  for (const major of NPM_MAJORS) {
    const run = spawnSync(
      'npx',
      ['-y', `npm@${major}`, 'ci', '--dry-run', '--ignore-scripts', '--no-audit', '--no-fund'],
      { cwd: scratch, encoding: 'utf8' }
    );
    if (run.status === 0) {
      console.log(`lock file: npm ${major} ci accepts it`);
    } else {
      failed = true;
      const why = (run.stderr || run.stdout)
        .split('\n')
        .filter((l) => l.trim() !== '')
        .slice(0, 8);
      console.error(`lock file: npm ${major} ci refuses it:\n${why.join('\n')}`);
    }
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
if (failed) {
  console.error('regenerate it with: rm -rf node_modules package-lock.json && npm install');
  process.exit(1);
}
