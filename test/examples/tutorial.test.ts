/**
 * The README's tutorial, command by command, as a reader runs it: `longrun dev --no-demo --actions`
 * with the tutorial's action, then the CLI in another "terminal" (processes), against a real dev
 * server. Only the pace differs: the spec is run with shorter pauses per line.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CheckpointRecord } from '../../src/shared/checkpoints';
import type { TaskProgress } from '../../src/shared/progress';
import { freePort } from '../support/ports';
import { waitFor } from '../support/worker-process';

const ROOT = join(__dirname, '..', '..');
const CLI = join(ROOT, 'bin', 'longrun.js');
let dir: string;
let env: Record<string, string>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'longrun-tutorial-'));
  env = {
    LONGRUN_DATA_DIR: join(dir, 'data'),
    LONGRUN_DEV_PORT: String(await freePort()),
    LONGRUN_DEV_UI_PORT: String(await freePort()),
  };
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function longrun(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { cwd: ROOT, env: { ...process.env, ...env }, timeout: 60_000 },
      (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr })
    );
  });
}

it('runs the tutorial: your action in a dev worker, start, pause, resume, roll back to a milestone, result', async () => {
  const dev = spawn(
    process.execPath,
    [CLI, 'dev', '--no-demo', '--actions', 'examples/tutorial/actions.cjs'],
    {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    }
  );
  let devOut = '';
  dev.stdout.on('data', (d: Buffer) => (devOut += d.toString()));
  dev.stderr.on('data', (d: Buffer) => (devOut += d.toString()));
  const exited = new Promise<number | null>((resolve) => dev.once('exit', (code) => resolve(code)));
  try {
    await waitFor(
      'the dev worker',
      () => (/Worker running the actions .*tutorial\.review-lines/.test(devOut) ? true : undefined),
      60_000
    );

    const actions = await longrun('actions');
    expect(actions.stdout).toContain('tutorial.review-lines');
    expect(actions.stdout).toContain('input: { file, secondsPerLine? }');

    const spec = JSON.parse(readFileSync(join(ROOT, 'examples', 'tutorial', 'spec.json'), 'utf8')) as {
      phases: { steps: { input: { secondsPerLine: number } }[] }[];
    };
    for (const step of spec.phases[0]!.steps) step.input.secondsPerLine = 0.05;
    const specPath = join(dir, 'spec.json');
    writeFileSync(specPath, JSON.stringify(spec));
    expect((await longrun('start', specPath)).stdout).toMatch(
      /^started: tutorial \(run .*checked against worker version/
    );

    const progress = async () =>
      (JSON.parse((await longrun('status', 'tutorial', '--json')).stdout) as { progress: TaskProgress })
        .progress;
    await waitFor(
      'a few lines reviewed',
      async () => ((await progress()).items?.done ?? 0) >= 5 || undefined,
      30_000,
      200
    );
    const paused = await longrun('pause', 'tutorial', '--reason', 'lunch');
    expect(paused.stdout).toMatch(/^tutorial: paused at item \d+\//);
    expect((await longrun('resume', 'tutorial')).stdout).toMatch(/^tutorial: (resuming|executing)/);

    const first = await longrun('result', 'tutorial');
    expect(first.code).toBe(0);
    const checkpoints = JSON.parse(
      (await longrun('checkpoints', 'tutorial', '--json')).stdout
    ) as CheckpointRecord[];
    const milestone = checkpoints.find((c) => c.type === 'milestone');
    expect(milestone).toBeDefined();
    const rolled = await longrun('rollback', 'tutorial', milestone!.id);
    expect(rolled.stdout).toMatch(/steps to run again: steering/);

    const result = await longrun('result', 'tutorial');
    expect(result.code).toBe(0);
    const outputs = (JSON.parse(result.stdout) as { outputs: Record<string, { lines: number }> }).outputs;
    expect(outputs.concepts?.lines).toBeGreaterThan(50);
    expect(outputs.steering?.lines).toBeGreaterThan(20);
  } finally {
    dev.kill('SIGINT');
    expect(await exited).toBe(0);
  }
});
