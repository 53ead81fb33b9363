import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SCRIPT = join(__dirname, '..', '..', 'scripts', 'provision-temporal.mjs');
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'longrun-provision-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function provision(env: Record<string, string>) {
  const base = { ...process.env };
  delete base.LONGRUN_TEMPORAL_CLI; // set by the jest global setup
  return spawnSync(process.execPath, [SCRIPT, '--quiet'], { env: { ...base, ...env }, encoding: 'utf8' });
}

function fakeBinary(path: string): string {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, '#!/bin/sh\necho fake\n');
  chmodSync(path, 0o755);
  return path;
}

describe('scripts/provision-temporal.mjs', () => {
  it('uses $LONGRUN_TEMPORAL_CLI first', () => {
    const binary = fakeBinary(join(dir, 'custom', 'temporal'));
    const result = provision({ LONGRUN_TEMPORAL_CLI: binary, LONGRUN_TOOLS_DIR: join(dir, 'none') });
    expect(result.status).toBe(0);
    expect(result.stdout.trim()).toBe(binary);
  });

  it('names $LONGRUN_TEMPORAL_CLI when it is not an executable file', () => {
    const result = provision({ LONGRUN_TEMPORAL_CLI: join(dir, 'missing') });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`LONGRUN_TEMPORAL_CLI=${join(dir, 'missing')} is not an executable file`);
  });

  it('finds a temporal on PATH, then the cached build, without building', () => {
    const onPath = fakeBinary(join(dir, 'bin', 'temporal'));
    expect(provision({ PATH: join(dir, 'bin'), LONGRUN_TOOLS_DIR: join(dir, 'none') }).stdout.trim()).toBe(
      onPath
    );
    const cached = fakeBinary(join(dir, 'tools', 'temporal-v1.5.1', 'temporal'));
    expect(provision({ PATH: join(dir, 'empty'), LONGRUN_TOOLS_DIR: join(dir, 'tools') }).stdout.trim()).toBe(
      cached
    );
  });

  it('says what to install when there is no Go, no temporal and no download', () => {
    const result = provision({ PATH: join(dir, 'empty'), LONGRUN_TOOLS_DIR: join(dir, 'fresh-tools') });
    if (result.status === 0) {
      // A machine with internet access: the SDK download fallback worked and gave a binary.
      expect(result.stdout.trim()).toContain(join(dir, 'fresh-tools', 'sdk-download'));
    } else {
      expect(result.status).toBe(1);
      expect(result.stderr).toContain('Go is not installed (no `go` on PATH)');
      expect(result.stderr).toContain('Install one of these and run again');
      expect(result.stderr).toContain('set LONGRUN_TEMPORAL_CLI');
    }
  });
});
