#!/usr/bin/env node
// Makes the Temporal binaries longrun runs available, and prints where they are:
//   cli     the `temporal` CLI (dev server + Web UI + admin commands), the default
//   server  `temporal-server` and `temporal-sql-tool`, for the native cluster (`longrun cluster up`)
//   ui      `temporal-ui-server`, the Web UI for the native cluster
// Versions are pinned in temporal-versions.json: the server and UI are those the CLI embeds.
//
// The CLI, first hit wins:
//   1. $LONGRUN_TEMPORAL_CLI (must point at an executable file)
//   2. a `temporal` already on PATH
//   3. the binary cached by an earlier run in .tools/temporal-<version>/
//   4. build the pinned version with Go: `go install github.com/temporalio/cli/cmd/temporal@<version>`
//   5. the Temporal SDK's own download (needs internet access to the Temporal download site)
// The server and the UI: cached in .tools/temporal-server-<version>/ and .tools/temporal-ui-<version>/,
// else built with Go (their go.mod files have no replace directives, so `go install` takes them as
// released). Idempotent: once cached, later runs return at once. Never commits or vendors a binary.
//
// Usage: node scripts/provision-temporal.mjs [cli|server|ui] [--quiet]
//   stdout: the CLI's absolute path, or the folder that holds the server's or the UI's binaries
import { spawnSync } from 'node:child_process';
import {
  accessSync,
  constants,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  statSync,
} from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const VERSIONS = JSON.parse(
  readFileSync(join(dirname(fileURLToPath(import.meta.url)), 'temporal-versions.json'), 'utf8')
);
export const TEMPORAL_CLI_VERSION = VERSIONS.cli;
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

/**
 * `go install`s `modules` into `binDir` (statically linked), then renames the binaries as `rename` says.
 * Returns the path of `expect` (the binary the caller needs) once it is there.
 */
function buildWithGo(binDir, { what, modules, tags, rename = {}, expect, minutes }) {
  const go = findOnPath('go');
  if (!go) return { ok: false, why: 'Go is not installed (no `go` on PATH)' };
  mkdirSync(binDir, { recursive: true });
  say(`building ${what} with ${go} (first run only; about ${minutes} minutes on 2 cores)`);
  const started = Date.now();
  const result = spawnSync(go, ['install', ...(tags ? ['-tags', tags] : []), ...modules], {
    env: { ...process.env, GOBIN: binDir, CGO_ENABLED: '0' },
    stdio: ['ignore', 2, 2], // stdout carries only the binary's path
  });
  if (result.status !== 0)
    return { ok: false, why: `go install exited with ${result.status ?? result.signal}` };
  for (const [from, to] of Object.entries(rename)) {
    if (existsSync(join(binDir, from))) renameSync(join(binDir, from), join(binDir, to));
  }
  const binary = join(binDir, expect);
  if (!isExecutableFile(binary)) return { ok: false, why: `go install made no ${binary}` };
  say(`built ${binary} in ${Math.round((Date.now() - started) / 1000)} s`);
  return { ok: true, path: binary };
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
  const built = buildWithGo(binDir, {
    what: `Temporal CLI ${TEMPORAL_CLI_VERSION}`,
    modules: [`${CLI_MODULE}@${TEMPORAL_CLI_VERSION}`],
    expect: 'temporal',
    minutes: '3-6',
  });
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

/** The native cluster's binaries, each cached in .tools/ under its pinned version. */
const CLUSTER_TOOLS = {
  server: {
    folder: `temporal-server-${VERSIONS.server}`,
    what: `Temporal server ${VERSIONS.server} and its SQL schema tool`,
    // disable_grpc_modules leaves out the gRPC plugins a server on PostgreSQL does not use.
    tags: 'disable_grpc_modules',
    modules: [
      `go.temporal.io/server/cmd/server@${VERSIONS.server}`,
      `go.temporal.io/server/cmd/tools/sql@${VERSIONS.server}`,
    ],
    rename: { server: 'temporal-server', sql: 'temporal-sql-tool' },
    binaries: ['temporal-server', 'temporal-sql-tool'],
    minutes: '1-5',
  },
  ui: {
    folder: `temporal-ui-${VERSIONS.ui}`,
    what: `Temporal UI server ${VERSIONS.ui}`,
    modules: [`github.com/temporalio/ui-server/v2/cmd/server@${VERSIONS.ui}`],
    rename: { server: 'temporal-ui-server' },
    binaries: ['temporal-ui-server'],
    minutes: '1-3',
  },
};

/** The folder holding the binaries of `name` ("server" or "ui"), built once with Go. */
export function provisionClusterTool(name) {
  const tool = CLUSTER_TOOLS[name];
  if (!tool) throw new Error(`unknown tool "${name}": cli, server or ui`);
  const binDir = join(toolsDir, tool.folder);
  if (tool.binaries.every((b) => isExecutableFile(join(binDir, b)))) return binDir;
  const built = buildWithGo(binDir, { ...tool, expect: tool.binaries[0] });
  if (!built.ok || !tool.binaries.every((b) => isExecutableFile(join(binDir, b)))) {
    throw new Error(
      `Could not build the ${tool.what}: ${built.ok ? 'a binary is missing' : built.why}. ` +
        'It needs Go 1.23 or newer on PATH and access to the Go module proxy.'
    );
  }
  return binDir;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const name = process.argv.slice(2).find((a) => !a.startsWith('--')) ?? 'cli';
  const work = name === 'cli' ? provisionTemporalCli() : new Promise((r) => r(provisionClusterTool(name)));
  work.then(
    (path) => {
      process.stdout.write(`${path}\n`);
    },
    (err) => {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    }
  );
}
