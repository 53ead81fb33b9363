/**
 * The package as another service gets it: `npm pack` on a copy of the repository (prepack builds
 * dist/), installed into a fresh project without the worker, a client run against a real dev server,
 * and every public type checked from outside under `nodenext` and `node10`; then `@temporalio/worker`
 * added for `longrun/worker`.
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { publicExports } from '../support/public-api';
import { useWorkerEnv } from '../support/temporal';
import { testActions } from '../support/test-actions';

const ROOT = join(__dirname, '..', '..');
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  peerDependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const TASK_QUEUE = 'packed-package';
/** Modules a client must never load: the native worker bridge, the bundler, longrun's worker side. */
const WORKER_CODE =
  /[\\/](@temporalio[\\/](worker|core-bridge)|webpack|@swc)[\\/]|[\\/]longrun[\\/]dist[\\/](worker|dev|activities[\\/](index|step-context|agents|llm))/;

jest.setTimeout(420_000);

const t = useWorkerEnv({ taskQueue: TASK_QUEUE, actions: testActions });
let dir: string;
let app: string;
let tarball: string;

function npm(args: string[], cwd: string): string {
  const run = spawnSync('npm', [...args, '--no-audit', '--no-fund', '--prefer-offline'], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, npm_config_loglevel: 'error' },
  });
  if (run.status !== 0) throw new Error(`npm ${args.join(' ')} failed (${run.status}):\n${run.stderr}`);
  return run.stdout;
}

/** Runs node in the app folder without blocking this process (its in-process worker serves the task). */
function node(
  args: string[],
  env: Record<string, string> = {}
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      args,
      { cwd: app, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 },
      (error, out, err) => resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, out, err })
    );
  });
}

function typecheck(file: string, resolution: 'nodenext' | 'node10'): string {
  const tsconfig = {
    compilerOptions: {
      strict: true,
      noEmit: true,
      skipLibCheck: false,
      types: ['node'],
      ...(resolution === 'nodenext'
        ? { module: 'nodenext', moduleResolution: 'nodenext' }
        : { module: 'commonjs', moduleResolution: 'node10' }),
    },
    files: [file],
  };
  const config = join(app, `tsconfig.${resolution}.json`);
  writeFileSync(config, JSON.stringify(tsconfig));
  const run = spawnSync(process.execPath, [TSC, '-p', config, '--pretty', 'false'], {
    cwd: app,
    encoding: 'utf8',
  });
  // Our declarations are checked in full (skipLibCheck off); the SDK's own need types it does not ship.
  return (run.stdout + run.stderr)
    .split('\n')
    .filter((line) => /^\S/.test(line) && !/^node_modules[\\/](?!longrun[\\/])/.test(line))
    .join('\n')
    .trim();
}

/** A file that imports every export of each entry point by name, as types and as values. */
function importEverything(entries: Record<string, string>): string {
  return Object.entries(entries)
    .map(([specifier, source]) => {
      const names = publicExports(join(ROOT, source));
      const alias = names.map((n) => `${n} as ${specifier.replace(/\W/g, '_')}_${n}`);
      return `import type { ${alias.join(', ')} } from '${specifier}';\n`;
    })
    .join('');
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'longrun-packed-'));
  // A clean copy of the tracked sources: what a clean clone packs (node_modules linked, not copied).
  const repo = join(dir, 'repo');
  const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard'], {
    cwd: ROOT,
    encoding: 'utf8',
  })
    .split('\n')
    .filter((f) => f !== '' && !f.startsWith('dist/'));
  for (const file of files) {
    mkdirSync(dirname(join(repo, file)), { recursive: true });
    try {
      cpSync(join(ROOT, file), join(repo, file));
    } catch {
      // A file deleted in the working tree but still tracked.
    }
  }
  symlinkSync(join(ROOT, 'node_modules'), join(repo, 'node_modules'), 'dir');
  const packed = JSON.parse(npm(['pack', '--json', '--pack-destination', dir], repo)) as Array<{
    filename: string;
    files: Array<{ path: string }>;
  }>;
  const [pack] = packed;
  if (!pack) throw new Error('npm pack made no package');
  tarball = join(dir, pack.filename);
  writeFileSync(join(dir, 'files.json'), JSON.stringify(pack.files.map((f) => f.path)));
  app = join(dir, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'a-service', private: true }));
  npm(['install', tarball, `@types/node@${PKG.devDependencies['@types/node']}`], app);
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the packed package holds the built code, the CLI and the provisioning script, not the tests', () => {
  const files = JSON.parse(readFileSync(join(dir, 'files.json'), 'utf8')) as string[];
  for (const file of [
    'dist/index.js',
    'dist/index.d.ts',
    'dist/client/index.js',
    'dist/worker/index.js',
    'dist/worker/main.js',
    'dist/workflow-bundle.js',
    'bin/longrun.js',
    'scripts/provision-temporal.mjs',
    'README.md',
  ]) {
    expect(files).toContain(file);
  }
  expect(files.filter((f) => /^(test|bench|\.tools|\.longrun|node_modules)\//.test(f))).toEqual([]);
});

test('a client-only install has no worker runtime, and importing the client loads no worker code', async () => {
  const installed = JSON.parse(
    readFileSync(join(app, 'node_modules', 'longrun', 'package.json'), 'utf8')
  ) as {
    version: string;
  };
  expect(installed.version).toBe(PKG.version);
  expect(() => readFileSync(join(app, 'node_modules', '@temporalio', 'worker', 'package.json'))).toThrow();
  const probe = await node([
    '-e',
    `const t = process.hrtime.bigint(); require('longrun'); require('longrun/client');
     console.log(JSON.stringify({ ms: Number(process.hrtime.bigint() - t) / 1e6, loaded: Object.keys(require.cache) }));`,
  ]);
  expect(probe.err).toBe('');
  const { loaded } = JSON.parse(probe.out) as { ms: number; loaded: string[] };
  expect(loaded.some((f) => f.includes(join('longrun', 'dist', 'client')))).toBe(true);
  expect(loaded.filter((f) => WORKER_CODE.test(f))).toEqual([]);
});

test('a client in the fresh project starts a task and reads its result from a real server and worker', async () => {
  const ledger = join(dir, 'ledger.txt');
  writeFileSync(
    join(app, 'client.mjs'),
    `import { LongrunClient } from 'longrun';
     const longrun = await LongrunClient.connect();
     const spec = { v: 1, taskId: 'packed-1', agent: 'a-service', title: 'From a packed install',
       phases: [{ id: 'p', steps: [{ id: 's', action: 'test.tally', input: { ledger: ${JSON.stringify(ledger)}, label: 'x', items: 3 } }] }] };
     await longrun.start(spec);
     const result = await longrun.result('packed-1');
     const progress = await longrun.progress('packed-1');
     console.log(JSON.stringify({ state: progress.state, percent: progress.percent, steps: Object.keys(result.outputs ?? {}) }));
     await longrun.close();`
  );
  // A worker-side variable that is wrong for a worker must not stop a client.
  const run = await node(['client.mjs'], {
    TEMPORAL_ADDRESS: t.env.address,
    LONGRUN_TASK_QUEUE: TASK_QUEUE,
    LONGRUN_LLM_BASE_URL: 'http://127.0.0.1:9/v1',
  });
  expect(run.err).toBe('');
  expect(run.code).toBe(0);
  expect(JSON.parse(run.out)).toMatchObject({ state: 'completed', percent: 100 });
  expect(readFileSync(ledger, 'utf8')).toBe('x:0\nx:1\nx:2\nx\n');
});

test('every public export type-checks from outside under nodenext and node10', () => {
  writeFileSync(
    join(app, 'client-types.ts'),
    importEverything({ longrun: 'src/index.ts', 'longrun/client': 'src/client/index.ts' }) + 'export {};\n'
  );
  expect(typecheck('client-types.ts', 'nodenext')).toBe('');
  expect(typecheck('client-types.ts', 'node10')).toBe('');
});

test('with @temporalio/worker added, longrun/worker loads and type-checks under nodenext and node10', async () => {
  npm(['install', `@temporalio/worker@${PKG.peerDependencies['@temporalio/worker']}`], app);
  const probe = await node([
    '-e',
    `const w = require('longrun/worker'); console.log(typeof w.createLongrunWorker);`,
  ]);
  expect(probe.out.trim()).toBe('function');
  writeFileSync(
    join(app, 'worker-types.ts'),
    importEverything({ 'longrun/worker': 'src/worker/index.ts' }) + 'export {};\n'
  );
  expect(typecheck('worker-types.ts', 'nodenext')).toBe('');
  expect(typecheck('worker-types.ts', 'node10')).toBe('');
});
