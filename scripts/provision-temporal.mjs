#!/usr/bin/env node
// Makes a `temporal` CLI binary (dev server + Web UI + admin commands) available and prints its path.
//
// Order, first hit wins:
//   1. $LONGRUN_TEMPORAL_CLI (must point at an executable file)
//   2. a `temporal` already on PATH
//   3. the binary cached by an earlier run in .tools/temporal-<version>/
//   4. build the pinned version with Go: `go install github.com/temporalio/cli/cmd/temporal@<version>`
//   5. the Temporal SDK's own download (needs internet access to the Temporal download site)
// Idempotent: once cached, later runs return at once. Never commits or vendors a binary.
//
// Usage: node scripts/provision-temporal.mjs [--quiet]   (stdout: the binary's absolute path)
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const TEMPORAL_CLI_VERSION = 'v1.5.1';
const CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal';

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const toolsDir = resolve(process.env.LONGRUN_TOOLS_DIR ?? join(projectRoot, '.tools'));
const quiet = process.argv.includes('--quiet');

function say(message) {
  if (!quiet) process.stderr.write(`[provision-temporal] ${message}\n`);
}

function isExecutableFile(path) {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function findOnPath(name) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutableFile(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

function buildWithGo(binDir) {
  const go = findOnPath('go');
  if (!go) return { ok: false, why: 'Go is not installed (no `go` on PATH)' };
  mkdirSync(binDir, { recursive: true });
  say(
    `building Temporal CLI ${TEMPORAL_CLI_VERSION} with ${go} (first run only; about 3-6 minutes on 2 cores)`
  );
  const started = Date.now();
  const result = spawnSync(go, ['install', `${CLI_MODULE}@${TEMPORAL_CLI_VERSION}`], {
    env: { ...process.env, GOBIN: binDir, CGO_ENABLED: '0' },
    stdio: ['ignore', 2, 2], // stdout carries only the binary's path
  });
  const binary = join(binDir, 'temporal');
  if (result.status === 0 && isExecutableFile(binary)) {
    say(`built ${binary} in ${Math.round((Date.now() - started) / 1000)} s`);
    return { ok: true, path: binary };
  }
  return { ok: false, why: `go install exited with ${result.status ?? result.signal}` };
}

async function downloadWithSdk(downloadDir) {
  let testing;
  try {
    testing = await import('@temporalio/testing');
  } catch {
    return { ok: false, why: '@temporalio/testing is not installed, so the SDK download is unavailable' };
  }
  mkdirSync(downloadDir, { recursive: true });
  say('trying the Temporal SDK download of the CLI');
  try {
    // Starting an ephemeral server is the SDK's only public way to download the CLI; stop it at once.
    const env = await testing.TestWorkflowEnvironment.createLocal({
      server: { executable: { type: 'cached-download', downloadDir } },
    });
    await env.teardown();
  } catch (err) {
    return { ok: false, why: `SDK download failed: ${err instanceof Error ? err.message : String(err)}` };
  }
  const binary = readdirSync(downloadDir)
    .map((name) => join(downloadDir, name))
    .find((path) => /temporal/i.test(path) && isExecutableFile(path));
  return binary ? { ok: true, path: binary } : { ok: false, why: `no executable appeared in ${downloadDir}` };
}

export async function provisionTemporalCli() {
  const fromEnv = process.env.LONGRUN_TEMPORAL_CLI;
  if (fromEnv) {
    if (isExecutableFile(fromEnv)) return resolve(fromEnv);
    throw new Error(`LONGRUN_TEMPORAL_CLI=${fromEnv} is not an executable file`);
  }
  const onPath = findOnPath('temporal');
  if (onPath) return onPath;

  const binDir = join(toolsDir, `temporal-${TEMPORAL_CLI_VERSION}`);
  const cached = join(binDir, 'temporal');
  if (isExecutableFile(cached)) return cached;

  const attempts = [];
  const built = buildWithGo(binDir);
  if (built.ok) return built.path;
  attempts.push(built.why);

  const sdkDir = join(toolsDir, 'sdk-download');
  if (existsSync(sdkDir)) {
    const previous = readdirSync(sdkDir)
      .map((name) => join(sdkDir, name))
      .find(isExecutableFile);
    if (previous) return previous;
  }
  const downloaded = await downloadWithSdk(sdkDir);
  if (downloaded.ok) return downloaded.path;
  attempts.push(downloaded.why);

  throw new Error(
    [
      'Could not make a Temporal CLI available. Tried:',
      ...attempts.map((why) => `  - ${why}`),
      'Install one of these and run again:',
      '  - Go 1.23 or newer (longrun builds the pinned Temporal CLI with it), or',
      '  - the Temporal CLI itself (`temporal` on PATH, e.g. `brew install temporal`), or',
      '  - set LONGRUN_TEMPORAL_CLI to the path of a temporal binary.',
    ].join('\n')
  );
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  provisionTemporalCli().then(
    (path) => {
      process.stdout.write(`${path}\n`);
    },
    (err) => {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    }
  );
}
