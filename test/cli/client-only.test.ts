/**
 * Client commands load no worker code: what `require.cache` holds after building the program and
 * running client commands, and the built CLI run from a copy whose node_modules lacks
 * `@temporalio/worker` (and its native bridge), against a real dev server.
 */
import { execFile, execFileSync } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { EXIT } from '../../src/runtime/exit-codes';
import { startDevServerEnv } from '../support/temporal';

const ROOT = join(__dirname, '..', '..');
const MANIFEST = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Record<
  string,
  Record<string, string> | undefined
>;
const WORKER_VERSION = ['peerDependencies', 'devDependencies', 'dependencies']
  .map((field) => MANIFEST[field]?.['@temporalio/worker'])
  .find(Boolean);
const MARK = '\n--- require.cache ---\n';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await startDevServerEnv();
});
afterAll(() => env?.teardown());

/** Modules of the worker side: the worker package, its native bridge and bundler, longrun's own. */
function workerSide(modules: string[]): string[] {
  const nodeModules = /\/node_modules\/(@temporalio\/worker|@temporalio\/core-bridge|webpack|@swc)\//;
  const own = new RegExp(`^${ROOT.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/dist/(worker|dev|activities)/`);
  return modules.filter((m) => nodeModules.test(m) || own.test(m));
}

/** What a fresh node that ran `script` (with the built CLI as `cli`) has loaded, and what it returned. */
function loadedBy(script: string): { modules: string[]; result: unknown } {
  const out = execFileSync(
    process.execPath,
    [
      '-e',
      `const cli = require(${JSON.stringify(join(ROOT, 'dist', 'cli', 'index.js'))});
       (async () => { ${script} })().then((result) => {
         const modules = Object.keys(require.cache);
         process.stdout.write(${JSON.stringify(MARK)} + JSON.stringify({ modules, result }));
         process.exit(0);
       });`,
    ],
    { encoding: 'utf8', env: { ...process.env, TEMPORAL_ADDRESS: env.address } }
  );
  return JSON.parse(out.slice(out.lastIndexOf(MARK) + MARK.length)) as { modules: string[]; result: unknown };
}

/** longrun's own parts among `modules`: `dist/cli/index.js` gives `cli`, `dist/client/index.js` gives `client`. */
function ownParts(modules: string[]): string[] {
  const dist = join(ROOT, 'dist') + '/';
  const parts = modules.filter((m) => m.startsWith(dist)).map((m) => m.slice(dist.length).split('/')[0]!);
  return [...new Set(parts.map((p) => p.replace(/\.js$/, '')))].sort();
}

describe('what the CLI loads', () => {
  it('building the program loads the client, not the worker package nor dist/worker, dev or activities', () => {
    const loaded = loadedBy('cli.buildProgram();').modules;
    expect(workerSide(loaded)).toEqual([]);
    // The client's message definitions come from dist/workflows (no worker package there).
    expect(ownParts(loaded)).toEqual(['cli', 'client', 'runtime', 'shared', 'workflows']);
    // The cache is the real one: the CLI, its command groups and the client are in it.
    expect(loaded).toEqual(
      expect.arrayContaining([
        join(ROOT, 'dist', 'cli', 'index.js'),
        join(ROOT, 'dist', 'cli', 'process.js'),
        join(ROOT, 'dist', 'client', 'index.js'),
        require.resolve('@temporalio/client'),
      ])
    );
  });

  it('running client commands (status, list, pause, health, completion) loads no worker code either', () => {
    const commands = [
      'status x',
      'list',
      'pause x',
      'health --url http://127.0.0.1:1/health',
      'completion bash',
    ];
    const { modules, result } = loadedBy(
      `const codes = [];
       for (const args of ${JSON.stringify(commands.map((c) => c.split(' ')))}) {
         await cli.main(['node', 'longrun', ...args]);
         codes.push(process.exitCode ?? 0);
         process.exitCode = undefined;
       }
       return codes;`
    );
    expect(result).toEqual([EXIT.unknownTask, EXIT.ok, EXIT.unknownTask, EXIT.failure, EXIT.ok]); // they ran
    expect(workerSide(modules)).toEqual([]);
    expect(ownParts(modules)).toEqual(['cli', 'client', 'runtime', 'shared', 'workflows']);
  });

  it('the filter sees worker code once it is loaded (what `longrun worker` imports)', () => {
    const { modules: loaded } = loadedBy(
      `cli.buildProgram(); require(${JSON.stringify(join(ROOT, 'dist', 'worker', 'main.js'))});`
    );
    const found = workerSide(loaded);
    expect(found).toContain(require.resolve('@temporalio/worker'));
    expect(found).toContain(join(ROOT, 'dist', 'worker', 'main.js'));
    expect(found).toContain(join(ROOT, 'dist', 'activities', 'index.js'));
  });
});

describe('a client-only install (node_modules without @temporalio/worker)', () => {
  const ABSENT = new Set(['@temporalio/worker', '@temporalio/core-bridge', '@temporalio/testing']);
  let install: string;

  beforeAll(() => {
    install = mkdtempSync(join(tmpdir(), 'longrun-client-only-'));
    for (const part of ['bin', 'dist', 'package.json'])
      cpSync(join(ROOT, part), join(install, part), { recursive: true });
    // Every installed package but the worker side, linked: the CLI's own requires resolve in this copy.
    for (const name of readdirSync(join(ROOT, 'node_modules'))) {
      const scoped = name.startsWith('@')
        ? readdirSync(join(ROOT, 'node_modules', name)).map((n) => `${name}/${n}`)
        : [name];
      for (const pkg of scoped.filter((p) => !ABSENT.has(p))) {
        mkdirSync(join(install, 'node_modules', pkg, '..'), { recursive: true });
        symlinkSync(join(ROOT, 'node_modules', pkg), join(install, 'node_modules', pkg));
      }
    }
  });
  afterAll(() => {
    if (install) rmSync(install, { recursive: true, force: true });
  });

  function longrun(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        [join(install, 'bin', 'longrun.js'), ...args],
        {
          cwd: install,
          timeout: 60_000,
          env: { ...process.env, TEMPORAL_ADDRESS: env.address, LONGRUN_TASK_QUEUE: 'client-only' },
        },
        (error, stdout, stderr) =>
          resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr })
      );
    });
  }

  it('really lacks the worker package', () => {
    const resolve = () =>
      execFileSync(process.execPath, ['-e', "require.resolve('@temporalio/worker')"], {
        cwd: join(install, 'dist', 'cli'),
        stdio: 'pipe',
      });
    expect(resolve).toThrow("Cannot find module '@temporalio/worker'");
  });

  it('starts, lists and shows tasks', async () => {
    const spec = join(install, 'spec.json');
    const example = JSON.parse(readFileSync(join(ROOT, 'examples', 'dataset.json'), 'utf8')) as object;
    writeFileSync(spec, JSON.stringify({ ...example, taskId: 'client-only' }));
    const started = await longrun('start', spec);
    expect(started).toMatchObject({ code: 0, stdout: expect.stringMatching(/^started: client-only \(run /) });
    const listed = await longrun('list', '--json');
    expect(listed.code).toBe(0);
    expect((JSON.parse(listed.stdout) as { taskId: string }[]).map((t) => t.taskId)).toEqual(['client-only']);
    expect(await longrun('status', 'no-such-task')).toMatchObject({ code: 3 });
    expect((await longrun('completion', 'bash')).stdout).toContain('complete -o default -F _longrun longrun');
  });

  it.each(['worker', 'dev'])(
    'longrun %s says which package to install, in one line, and exits 1',
    async (command) => {
      const run = await longrun(command);
      expect(run.code).toBe(1);
      expect(run.stderr).toBe(
        `longrun ${command} needs @temporalio/worker: npm install @temporalio/worker@${WORKER_VERSION}\n`
      );
    }
  );
});
