import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateRepo } from '../support/fixture-repo';
import { freePort } from '../support/ports';
import { waitFor } from '../support/worker-process';

const ROOT = join(__dirname, '..', '..');
const CLI = join(ROOT, 'bin', 'longrun.js');
const TASK_ID = 'demo-codebase-review';
const FILES = 5000;

let dir: string;
let env: NodeJS.ProcessEnv;
let address: string;
let uiPort: number;
let dev: ChildProcess | undefined;
let devOutput = '';
let firstRunId = '';
let doneBeforeStop = 0;

function longrun(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [CLI, ...args], { env, encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function temporal(args: string[]): string {
  const result = spawnSync(process.env.LONGRUN_TEMPORAL_CLI as string, [...args, '--address', address], {
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`temporal ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

function startDev(extra: string[] = []): { child: ChildProcess; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [CLI, 'dev', '--root', join(dir, 'repo'), ...extra], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => (devOutput += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (devOutput += d.toString()));
  return { child, exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))) };
}

interface StatusJson {
  runId: string;
  execution: string;
  progress: { state: string; step: { id: string }; items: { done: number; total: number } | null } | null;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'longrun-cli-'));
  generateRepo(join(dir, 'repo'), FILES, 2500);
  const port = await freePort();
  uiPort = await freePort();
  address = `127.0.0.1:${port}`;
  env = {
    ...process.env,
    TEMPORAL_ADDRESS: '', // the embedded default, even where the environment names a cluster
    LONGRUN_DATA_DIR: join(dir, 'data'),
    LONGRUN_DEV_PORT: String(port),
    LONGRUN_DEV_UI_PORT: String(uiPort),
    LONGRUN_HARDWARE_PROFILE: 'standard', // fixed checkpoint interval (4 s at high) whatever the machine
  };
});

afterAll(() => {
  if (dev && dev.exitCode === null) dev.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('longrun dev (built CLI, embedded dev server)', () => {
  let exited: Promise<number | null>;

  it('starts a dev server, a worker and the demo task, visible to the Temporal CLI and Web UI', async () => {
    ({ child: dev, exited } = startDev());
    const status = await waitFor(
      'the analyze step to report items',
      () => {
        const r = longrun(['status', TASK_ID, '--json']);
        if (r.status !== 0) return undefined;
        const s = JSON.parse(r.stdout) as StatusJson;
        return s.progress?.step.id === 'analyze' && (s.progress.items?.done ?? 0) > 0 ? s : undefined;
      },
      90_000,
      200
    );
    expect(status.execution).toBe('RUNNING');
    firstRunId = status.runId;
    // The task can report items before `longrun dev` prints what it started (a loaded machine).
    const link = `Web UI: http://localhost:${uiPort}/namespaces/default/workflows/${TASK_ID}`;
    await waitFor(
      'longrun dev to print the Web UI link',
      () => (devOutput.includes(link) ? true : undefined),
      30_000
    );

    const listed = temporal(['workflow', 'list', '--query', 'LongrunState="executing"', '--output', 'json']);
    expect(listed).toContain(TASK_ID);
    const query = JSON.parse(
      temporal(['workflow', 'query', '--type', 'progress', '--workflow-id', TASK_ID, '--output', 'json'])
    ) as {
      queryResult: Array<{ state: string; phase: { id: string } }>;
    };
    expect(query.queryResult[0]).toMatchObject({ state: 'executing', phase: { id: 'analyze' } });
    const ui = await fetch(`http://127.0.0.1:${uiPort}/`);
    expect(ui.status).toBe(200);

    // Both progress commands it prints run as printed (from the folder it was started in).
    const hint = /^Progress: node (\S+) status (\S+)\s+\(or the Temporal CLI: (.+)\)$/m.exec(devOutput);
    expect(hint).not.toBeNull();
    const [, bin, id, temporalLine] = hint as unknown as [string, string, string, string];
    expect(spawnSync(process.execPath, [bin, 'status', id], { env, encoding: 'utf8' }).status).toBe(0);
    const [exe, ...args] = temporalLine.split(' ');
    const printed = spawnSync(exe as string, [...args, '--output', 'json'], { encoding: 'utf8' });
    expect(printed.status).toBe(0);
    expect(printed.stdout).toContain('"state"');

    const text = longrun(['status', TASK_ID]);
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(
      /executing \| phase 2\/3 Analyze files \| step 2\/3 Measure each file \| \d+\/5000 items/
    );
  });

  it('stops cleanly on Ctrl-C (SIGINT): the worker drains and the server stops', async () => {
    const before = JSON.parse(longrun(['status', TASK_ID, '--json']).stdout) as StatusJson;
    expect(before.progress?.items?.done).toBeLessThan(FILES); // still in the middle of the step
    doneBeforeStop = before.progress?.items?.done ?? 0;
    const stoppedAt = Date.now();
    dev?.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(Date.now() - stoppedAt).toBeLessThan(20_000);
    expect(devOutput).toContain('Temporal dev server stopped');
    console.log(
      devOutput
        .split(/\r|\n/)
        .filter((l) => l && !l.startsWith('['))
        .join('\n')
    );
    expect(longrun(['status', TASK_ID]).status).toBe(1); // nothing answers any more
  });

  it('continues the same task where it stopped when run again', async () => {
    devOutput = '';
    ({ child: dev, exited } = startDev(['--exit-on-complete']));
    expect(await exited).toBe(0);
    expect(devOutput).toContain(`Continuing task ${TASK_ID} (run ${firstRunId})`);
    expect(devOutput).toContain(`completed: ${FILES} files`);
    const resumed = Number(/resumed at file (\d+)/.exec(devOutput)?.[1]);
    expect(resumed).toBeGreaterThanOrEqual(doneBeforeStop);
    const report = join(dir, 'data', 'reports', `${TASK_ID}.md`);
    expect(existsSync(report)).toBe(true);
    expect(
      readFileSync(report, 'utf8').match(
        /^\| pkg\d\/mod\d\/file\d{5}\.ts \| \d+ \| \d+ \| \d+ \| \d+ \| \d+ \| \d+ \| `[0-9a-f]{64}` \|$/gm
      )
    ).toHaveLength(FILES);
  });
  it('shows the finished task on a later run and rejects bad CLI input naming the id or field', async () => {
    devOutput = '';
    ({ child: dev, exited } = startDev());
    await waitFor('the finished task to be shown', () =>
      devOutput.includes('Press Ctrl-C to stop') ? true : undefined
    );
    expect(devOutput).toContain(`Continuing task ${TASK_ID} (run ${firstRunId})`);
    expect(JSON.parse(longrun(['result', TASK_ID]).stdout)).toMatchObject({
      state: 'completed',
      taskId: TASK_ID,
    });

    const unknown = longrun(['status', 'no-such-task']);
    expect(unknown.status).toBe(3);
    expect(unknown.stderr).toContain('unknown task "no-such-task"');

    const badSpec = join(dir, 'bad-spec.json');
    writeFileSync(badSpec, JSON.stringify({ v: 1, taskId: 'x y', agent: 'a', phases: [] }));
    const bad = longrun(['start', badSpec]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('spec.taskId: must start with a letter or digit');
    expect(bad.stderr).toContain('spec.phases: a task needs at least one phase');

    const missing = longrun(['start', join(dir, 'missing.json')]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('cannot be read (ENOENT)');

    expect(longrun(['frobnicate']).status).toBe(2);
    dev?.kill('SIGINT');
    expect(await exited).toBe(0);
  });
});
