/**
 * The CLI's pure formatters and its one progress renderer: exact text for known progress, tables and
 * listings, and the exit-code table against docs/cli-and-client.md.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { FailedTask, TaskSummary } from '../../src/client';
import {
  EXIT,
  EXIT_MEANINGS,
  exitCodeLines,
  exitForEnding,
  SIGNAL_EXIT_MEANING,
  signalExitCode,
  type ExitName,
} from '../../src/runtime/exit-codes';
import {
  actionsText,
  bar,
  checkpointLine,
  failedText,
  progressFields,
  startedText,
  steeredText,
  table,
  taskTable,
  timingText,
} from '../../src/cli/format';
import { ProgressRenderer, progressLine, renderModeFor, statusText } from '../../src/cli/render';
import type { TaskProgress } from '../../src/shared/progress';

const progress = (over: Partial<TaskProgress> = {}): TaskProgress => ({
  taskId: 't1',
  agent: 'review',
  title: 'Review api',
  state: 'executing',
  percent: 47.25,
  stepsPercent: 40,
  phase: { index: 1, count: 4, id: 'analyze', title: 'analyze' },
  step: { index: 1, count: 4, id: 'analyze', title: 'analyze', action: 'codebase.analyze' },
  stepShare: 20,
  stepsCompleted: 1,
  items: { done: 1180, total: 2500, rate: 41.23 },
  velocity: { percentPerHour: 43.6, itemsPerSecond: 41.2, etaMs: 32_000, confidence: 'medium' },
  etaAt: Date.UTC(2026, 0, 1, 0, 1, 0),
  pausing: false,
  cancelling: false,
  recent: [],
  history: [],
  startedAt: 0,
  updatedAt: 0,
  completedAt: null,
  elapsedMs: 65_000,
  activeMs: 65_000,
  run: 1,
  lastCheckpoint: null,
  deadline: null,
  error: null,
  ...over,
});

describe('progress fields and the bar', () => {
  it('draws 30 cells, rounded, clamped to 0..100', () => {
    expect(bar(0)).toBe('░'.repeat(30));
    expect(bar(50)).toBe('█'.repeat(15) + '░'.repeat(15));
    expect(bar(47.25)).toBe('█'.repeat(14) + '░'.repeat(16));
    expect(bar(140)).toBe('█'.repeat(30));
    expect(bar(-5)).toBe('░'.repeat(30));
  });

  it('lists percent, state, phase, step, items with speed and the ETA', () => {
    expect(progressFields(progress())).toBe(
      '47.3% | executing | phase 2/4 analyze | step 2/4 analyze | 1180/2500 items @ 41.2/s | ETA 32s (medium)'
    );
  });

  it('says pausing and cancelling, an unknown total, and no ETA once ended', () => {
    expect(progressFields(progress({ pausing: true, items: { done: 3, total: null } }))).toBe(
      '47.3% | executing (pausing) | phase 2/4 analyze | step 2/4 analyze | 3/? items | ETA 32s (medium)'
    );
    expect(
      progressFields(progress({ state: 'completed', percent: 100, items: null, cancelling: true }))
    ).toBe('100.0% | completed (cancelling) | phase 2/4 analyze | step 2/4 analyze');
  });

  it('counts started steps instead of items when several run', () => {
    const step = {
      id: 'a',
      title: 'a',
      action: 'x',
      phaseId: 'p',
      state: 'running' as const,
      share: 10,
      fraction: 0,
      items: null,
      fanOut: null,
      rounds: null,
    };
    expect(progressFields(progress({ running: [step, { ...step, id: 'b' }] }))).toContain(
      '| step 2/4 analyze | 2 steps started | ETA'
    );
  });

  it('gives the timing line with velocity, ETA time and deadline only when known', () => {
    expect(timingText(progress({ deadline: '2026-02-01T00:00:00Z' }))).toBe(
      'elapsed 1m 05s, active 1m 05s, 43.6%/h, done about 2026-01-01T00:01:00.000Z, deadline 2026-02-01T00:00:00Z'
    );
    const unknown = progress({ etaAt: null, velocity: { ...progress().velocity, percentPerHour: null } });
    expect(timingText(unknown)).toBe('elapsed 1m 05s, active 1m 05s');
  });
});

describe('the progress renderer', () => {
  it('puts the bar and the fields on one line, and that line second in status', () => {
    const p = progress({
      phaseTime: { usedMs: 30_000, limitMs: 7_200_000 },
      warnings: ['idle'],
      error: 'boom',
      recent: [{ at: Date.UTC(2026, 0, 1), kind: 'info', message: 'task started' }],
    });
    expect(progressLine(p)).toBe(`${'█'.repeat(14)}${'░'.repeat(16)} ${progressFields(p)}`);
    expect(statusText('t1', 'RUNNING', p).split('\n')).toEqual([
      'Review api (t1, review): executing, Temporal status RUNNING',
      progressLine(p),
      timingText(p),
      'steps completed 1/4, run 1, last checkpoint none',
      'phase time 30s of its 2h 00m limit',
      'warning: idle',
      'error: boom',
      'recent:',
      '  2026-01-01 00:00:00Z [info] task started',
      '',
    ]);
    expect(statusText('t1', 'COMPLETED', null)).toBe('t1: COMPLETED (no progress: no worker answered)\n');
  });

  it('shows model usage, marked "~" when estimated, and a step waiting for its quota', () => {
    const usage = {
      calls: 3,
      reused: 1,
      promptTokens: 12_000,
      completionTokens: 300,
      cachedTokens: 0,
      costUsd: 0.0421,
      estimatedCalls: 0,
      unpricedCalls: 0,
      latencyMs: 900,
    };
    const step = progress().running?.[0] ?? {
      id: 'a', title: 'a', action: 'agent.run', phaseId: 'p', state: 'waiting' as const, share: 25,
      fraction: 0, items: null, fanOut: null, rounds: null,
    }; // prettier-ignore
    const p = progress({ usage, running: [{ ...step, state: 'waiting', waitingFor: 'quota' }] });
    const text = statusText('t1', 'RUNNING', p);
    expect(text).toContain('model usage 12.3k tokens, $0.0421 (3 calls, 1 reused)\n');
    expect(text).toMatch(/started steps:\n {2}.*waiting: waiting for its model quota to reset/);
    const estimated = statusText('t1', 'RUNNING', progress({ usage: { ...usage, estimatedCalls: 1 } }));
    expect(estimated).toContain('model usage ~12.3k tokens, ~$0.0421');
  });

  it('lists the steps that cost most under the model usage when several steps used the model', () => {
    const u = (costUsd: number, calls: number) => ({
      calls, reused: 0, promptTokens: calls * 1000, completionTokens: 0, cachedTokens: 0, costUsd,
      estimatedCalls: 0, unpricedCalls: 0, latencyMs: 0,
    }); // prettier-ignore
    const usageByStep = {
      a: u(0.01, 1),
      b: u(0.05, 5),
      c: u(0, 2),
      d: u(0.02, 2),
      e: u(0.03, 3),
      f: u(0.04, 4),
    };
    const lines = statusText('t1', 'RUNNING', progress({ usage: u(0.15, 17), usageByStep })).split('\n');
    const at = lines.findIndex((l) => l.startsWith('model usage'));
    expect(lines.slice(at + 1, at + 7)).toEqual([
      '  step b: 5000 tokens, $0.0500 (5 calls)',
      '  step f: 4000 tokens, $0.0400 (4 calls)',
      '  step e: 3000 tokens, $0.0300 (3 calls)',
      '  step d: 2000 tokens, $0.0200 (2 calls)',
      '  step a: 1000 tokens, $0.0100 (1 call)',
      '  and 1 more steps',
    ]);
    const one = statusText('t1', 'RUNNING', progress({ usage: u(0.01, 1), usageByStep: { a: u(0.01, 1) } }));
    expect(one).not.toContain('step a:');
  });

  it('writes one progress line per update to a file or pipe, and JSON lines with --json', () => {
    const lines = new PassThrough();
    const renderer = new ProgressRenderer('lines', lines);
    renderer.update(progress());
    renderer.update(progress({ percent: 100, state: 'completed', items: null }));
    renderer.stop();
    expect(String(lines.read())).toBe(
      `${progressLine(progress())}\n${progressLine(progress({ percent: 100, state: 'completed', items: null }))}\n`
    );
    const json = new PassThrough();
    new ProgressRenderer('json', json).update(progress());
    expect(JSON.parse(String(json.read()))).toEqual(progress());
  });

  it('draws live only on a terminal and never for JSON', () => {
    const terminal = Object.assign(new PassThrough(), { isTTY: true }) as unknown as NodeJS.WriteStream;
    const pipe = new PassThrough() as unknown as NodeJS.WriteStream;
    expect(renderModeFor(false, terminal)).toBe('live');
    expect(renderModeFor(true, terminal)).toBe('json');
    expect(renderModeFor(false, pipe)).toBe('lines');
  });
});

describe('tables and listings', () => {
  it('pads columns two spaces apart and trims the line ends', () => {
    expect(
      table(
        ['A', 'LONGER'],
        [
          ['xyz', ''],
          ['q', 'r'],
        ]
      )
    ).toBe('A    LONGER\nxyz\nq    r\n');
  });

  const summary: TaskSummary = {
    taskId: 'review-1',
    runId: 'r',
    execution: 'RUNNING',
    state: 'paused',
    agent: 'review',
    durability: 'standard',
    phase: 'work',
    percent: 12,
    startedAt: Date.UTC(2026, 0, 1),
    closedAt: null,
  };

  it('lists tasks with a header, "-" for unknown fields, and says when there are none', () => {
    const none = {
      ...summary,
      taskId: 't',
      state: null,
      agent: null,
      durability: null,
      phase: null,
      percent: null,
    };
    expect(taskTable([summary, none]).split('\n')).toEqual([
      'TASK      STATE   PROGRESS  AGENT   PHASE  DURABILITY  TEMPORAL  STARTED',
      'review-1  paused  12%       review  work   standard    RUNNING   2026-01-01T00:00:00.000Z',
      't         -       -         -       -      -           RUNNING   2026-01-01T00:00:00.000Z',
      '',
    ]);
    expect(taskTable([])).toBe('no tasks\n');
  });

  it('says whether start started the task and what it checked the spec against', () => {
    const base = { taskId: 't', runId: 'r1', started: true, checkedAgainst: null };
    expect(startedText(base)).toBe(
      'started: t (run r1); no worker has published its actions yet: checked the spec statically only\n'
    );
    expect(
      startedText({
        ...base,
        started: false,
        checkedAgainst: { workerVersion: '1.0.0+abc', publishedAt: 'x' },
      })
    ).toBe('already exists: t (run r1); checked against worker version 1.0.0+abc\n');
  });

  it('lists actions with their inputs, optional ones marked, and older catalogs by version', () => {
    const catalog = {
      taskQueue: 'q',
      workerVersion: '1.0.0+abc',
      worker: '1@host',
      publishedAt: '2026-01-01T00:00:00.000Z',
      actions: [
        {
          name: 'test.slow',
          description: 'slow',
          inputSchema: { properties: { items: {}, note: {} }, required: ['items'] },
        },
      ],
    };
    expect(actionsText([catalog, { ...catalog, workerVersion: '0.9.0+def' }])).toBe(
      'worker version 1.0.0+abc (1@host, 2026-01-01T00:00:00.000Z) on task queue "q":\n' +
        `  test.slow            slow\n  ${' '.repeat(20)} input: { items, note? }\n` +
        'also seen: worker version 0.9.0+def (2026-01-01T00:00:00.000Z)\n'
    );
    expect(actionsText([])).toBe('no worker has published its actions on this task queue yet\n');
  });

  it('prints a checkpoint in columns and a steering answer with where a pause stopped', () => {
    const record = {
      id: 'manual-3',
      type: 'manual' as const,
      label: 'before refactor',
      stepIndex: 2,
      stepId: 'b',
      cursor: null,
      runId: 'r',
      resetEventId: 9,
      at: Date.UTC(2026, 0, 1),
    };
    expect(checkpointLine(record)).toBe(
      'manual-3         manual     step    2  2026-01-01T00:00:00.000Z  before refactor\n'
    );
    expect(steeredText('pause', 't', progress({ state: 'paused' }))).toBe(
      't: paused at item 1180/2500, step 2/4 analyze\n'
    );
    expect(steeredText('resume', 't', progress())).toBe('t: executing, step 2/4 analyze\n');
  });

  it('lists dead letters with their last failure and the retry command to run', () => {
    const dead: FailedTask = {
      ...summary,
      execution: 'FAILED',
      closedAt: Date.UTC(2026, 0, 2),
      error: 'step b failed: boom',
      failure: { at: 0, stepId: 'b', kind: 'permanent', message: 'boom', attempt: 1, decision: 'fail' },
      recoveryCheckpoint: null,
    };
    expect(failedText([dead])).toBe(
      'review-1  failed 2026-01-02T00:00:00.000Z  agent review\n' +
        '  step b failed: boom\n' +
        '  last failure: step b, permanent, attempt 1, decision fail\n' +
        '  retry: longrun retry review-1 --from start\n'
    );
    expect(failedText([])).toBe('no failed tasks\n');
  });
});

describe('exit codes', () => {
  it('maps every ending as watch and result report it', () => {
    expect(exitForEnding('COMPLETED', 'completed')).toBe(EXIT.ok);
    expect(exitForEnding('COMPLETED', 'partial')).toBe(EXIT.partial);
    expect(exitForEnding('COMPLETED', 'cancelled')).toBe(EXIT.taskCancelled);
    expect(exitForEnding('CANCELLED', 'executing')).toBe(EXIT.taskCancelled);
    for (const execution of ['FAILED', 'TERMINATED', 'TIMED_OUT'])
      expect(exitForEnding(execution, 'executing')).toBe(EXIT.taskFailed);
    expect(signalExitCode('SIGINT')).toBe(130);
    expect(signalExitCode('SIGTERM')).toBe(143);
  });

  it('are numbered 0 to 7 without gaps, each with a one-line meaning in --help', () => {
    expect(Object.values(EXIT)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const lines = exitCodeLines();
    expect(lines).toHaveLength(9);
    expect(lines[0]).toBe(`  0      ${EXIT_MEANINGS.ok}`);
    expect(lines[8]).toBe(`  128+N  ${SIGNAL_EXIT_MEANING}`);
  });

  it('are tabulated in docs/cli-and-client.md with the same meanings', () => {
    const doc = readFileSync(join(__dirname, '..', '..', 'docs', 'cli-and-client.md'), 'utf8');
    const rows = new Map(
      [...doc.matchAll(/^\| `([0-9+N]+)` +\| (.+?) +\|$/gm)].map((m) => [m[1] as string, m[2] as string])
    );
    const expected = new Map<string, string>(
      (Object.keys(EXIT) as ExitName[]).map((name) => [String(EXIT[name]), EXIT_MEANINGS[name]])
    );
    expected.set('128+N', SIGNAL_EXIT_MEANING);
    expect(rows).toEqual(expected);
  });
});
