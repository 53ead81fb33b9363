/**
 * The `longrun` command line, a thin layer over the typed client.
 * Exit codes: 0 ok, 1 failure (e.g. Temporal unreachable), 2 bad arguments or input, 3 unknown task or
 * checkpoint, 4 request refused by the task (e.g. resume a running task), 5 the task failed (`watch`,
 * `result`), 6 the task was cancelled (`watch`, `result`), 7 the task ended at a limit with partial
 * results (`watch`, `result`).
 */
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { Format, Presets, SingleBar } from 'cli-progress';
import { WorkflowFailedError } from '@temporalio/client';
import { LongrunClient, TaskRequestRejectedError, UnknownCheckpointError, UnknownTaskError } from './client';
import { runDev } from './dev/command';
import { formatActivity } from './shared/activity-log';
import { DURABILITY_LEVELS, type DurabilityLevel } from './shared/durability';
import { LIFECYCLE_STATES } from './shared/lifecycle';
import { etaText, runningStepText, type TaskProgress } from './shared/progress';
import { parseOrThrow, ValidationError } from './shared/validation';
import { checkSpec } from './shared/spec-check';
import { TaskIdSchema } from './shared/spec';
import { CONTROL_SCHEMAS, type ControlKind } from './shared/control';
import { formatDuration } from './shared/duration';
import { runWorker } from './worker/main';
import { printHealth } from './worker/health';

export const EXIT = {
  ok: 0,
  failure: 1,
  badInput: 2,
  unknownTask: 3,
  rejected: 4,
  taskFailed: 5,
  taskCancelled: 6,
  /** The task reached its deadline or a phase limit and completed with partial results. */
  partial: 7,
} as const;

const BAR = {
  barsize: 30,
  barCompleteString: '█'.repeat(30),
  barIncompleteString: '░'.repeat(30),
  barGlue: '',
};

/** A static bar for `status`, drawn by cli-progress's own formatter (the same look as `watch`). */
function bar(percent: number): string {
  return Format.BarFormat(Math.min(1, Math.max(0, percent / 100)), BAR);
}

/** The fields after the bar: state, phase, step, items, speed, ETA. */
function progressFields(p: TaskProgress): string {
  const parts = [
    `${p.percent.toFixed(1)}%`,
    p.state + (p.pausing ? ' (pausing)' : '') + (p.cancelling ? ' (cancelling)' : ''),
    `phase ${p.phase.index + 1}/${p.phase.count} ${p.phase.title}`,
    `step ${p.step.index + 1}/${p.step.count} ${p.step.title}`,
  ];
  const running = p.running ?? [];
  if (running.length > 1) parts.push(`${running.length} steps started`);
  else if (p.items) {
    const rate = p.items.rate ? ` @ ${p.items.rate.toFixed(1)}/s` : '';
    parts.push(`${p.items.done}/${p.items.total ?? '?'} items${rate}`);
  }
  const eta = etaText(p);
  if (eta) parts.push(eta);
  return parts.join(' | ');
}

function statusText(taskId: string, execution: string, p: TaskProgress | null): string {
  if (!p) return `${taskId}: ${execution} (no progress: no worker answered)\n`;
  const lines = [
    `${p.title} (${taskId}, ${p.agent}): ${p.state}, Temporal status ${execution}`,
    `${bar(p.percent)} ${progressFields(p)}`,
    `elapsed ${formatDuration(p.elapsedMs)}, active ${formatDuration(p.activeMs)}` +
      (p.velocity.percentPerHour === null ? '' : `, ${p.velocity.percentPerHour.toFixed(1)}%/h`) +
      (p.etaAt === null ? '' : `, done about ${new Date(p.etaAt).toISOString()}`) +
      (p.deadline ? `, deadline ${p.deadline}` : ''),
    `steps completed ${p.stepsCompleted}/${p.step.count}, run ${p.run}, last checkpoint ${p.lastCheckpoint ?? 'none'}`,
  ];
  if (p.phaseTime) {
    lines.push(
      `phase time ${formatDuration(p.phaseTime.usedMs)} of its ${formatDuration(p.phaseTime.limitMs)} limit`
    );
  }
  const running = p.running ?? [];
  if (running.length > 1 || running.some((r) => r.fanOut || r.rounds)) {
    lines.push('started steps:', ...running.map((r) => `  ${runningStepText(r).replace(/`/g, '')}`));
  }
  for (const warning of p.warnings ?? []) lines.push(`warning: ${warning}`);
  if (p.error) lines.push(`error: ${p.error}`);
  if (p.recent.length) lines.push('recent:', ...p.recent.slice(-5).map((e) => `  ${formatActivity(e)}`));
  return `${lines.join('\n')}\n`;
}

/** Exit code for a task that has ended: by its longrun state, else its Temporal status. */
function exitFor(execution: string, state: string | undefined): number {
  if (state === 'cancelled' || execution === 'CANCELLED') return EXIT.taskCancelled;
  if (state === 'partial') return EXIT.partial; // as `result` says it
  if (execution === 'COMPLETED') return EXIT.ok;
  return EXIT.taskFailed;
}

function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

async function withClient<T>(fn: (client: LongrunClient) => Promise<T>): Promise<T> {
  const client = await LongrunClient.connect();
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

function parsePositiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) {
    throw new ValidationError('arguments', [
      { path: flag, rule: `must be a positive whole number (got "${value}")` },
    ]);
  }
  return n;
}

/** Task and checkpoint ids are checked before connecting: a usage error exits 2 whatever the server's state. */
function checkId(value: string, what: string): string {
  const parsed = TaskIdSchema.safeParse(value);
  if (!parsed.success) {
    throw new ValidationError('arguments', [
      { path: what, rule: `${parsed.error.issues[0]?.message ?? 'is not valid'} (got "${value}")` },
    ]);
  }
  return value;
}

/** A control request's fields, checked as the task would check them, before connecting. */
function checkRequest(kind: ControlKind, request: Record<string, unknown>): void {
  parseOrThrow(CONTROL_SCHEMAS[kind], request, `${kind} request`);
}

function readSpecFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ValidationError('spec file', [
      { path, rule: `cannot be read (${(err as NodeJS.ErrnoException).code})` },
    ]);
  }
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new ValidationError('spec file', [{ path, rule: `is not valid JSON (${(err as Error).message})` }]);
  }
}

export function buildProgram(): Command {
  const program = new Command('longrun')
    .description('Durable long-running agent tasks on Temporal')
    .showHelpAfterError()
    .exitOverride();

  program
    .command('dev')
    .description(
      'start a local Temporal dev server, a worker and the demo codebase review, with live progress'
    )
    .option('--root <dir>', "folder for the demo to review (default: longrun's own src/)")
    .option('--task-id <id>', 'task id of the demo', 'demo-codebase-review')
    .addOption(
      new Option('--durability <level>', 'durability level').choices(DURABILITY_LEVELS).default('high')
    )
    .option('--exit-on-complete', 'stop the server and worker when the task ends')
    .option('--no-demo', 'start no demo task: a server and a worker for the tasks you start')
    .option('--actions <modules...>', 'modules exporting your own actions (also LONGRUN_ACTIONS)')
    .action(
      async (opts: {
        root?: string;
        taskId: string;
        durability: DurabilityLevel;
        exitOnComplete?: boolean;
        demo: boolean;
        actions?: string[];
      }) => {
        process.exitCode = await runDev({ ...opts, actionModules: opts.actions ?? [] });
      }
    );

  program
    .command('worker')
    .description('run a worker for longrun tasks until SIGINT/SIGTERM (uses TEMPORAL_ADDRESS)')
    .option('--actions <modules...>', 'modules exporting your own actions (also LONGRUN_ACTIONS)')
    .action(async (opts: { actions?: string[] }) => {
      await runWorker({ actionModules: opts.actions ?? [] });
    });

  program
    .command('health')
    .description("print a worker's health report (circuit breakers, running steps, memory) as JSON")
    .option('--url <url>', 'the report (default: http://127.0.0.1:$LONGRUN_HEALTH_PORT/health)')
    .action(async (opts: { url?: string }) => {
      process.exitCode = await printHealth(opts.url);
    });

  program
    .command('actions')
    .description("list the actions the task queue's workers run, with their inputs (as they published them)")
    .option('--json', 'print the catalogs as JSON (input schemas as JSON Schema)')
    .action(async (opts: { json?: boolean }) => {
      const catalogs = await withClient((client) => client.actions());
      if (opts.json) return printJson(catalogs);
      const [latest, ...older] = catalogs;
      if (!latest)
        return void process.stdout.write('no worker has published its actions on this task queue yet\n');
      process.stdout.write(
        `worker version ${latest.workerVersion} (${latest.worker}, ${latest.publishedAt}) on task queue "${latest.taskQueue}":\n`
      );
      for (const a of latest.actions) {
        const props = Object.keys((a.inputSchema.properties as Record<string, unknown> | undefined) ?? {});
        const required = new Set((a.inputSchema.required as string[] | undefined) ?? []);
        const fields = props.map((p) => (required.has(p) ? p : `${p}?`)).join(', ');
        process.stdout.write(
          `  ${a.name.padEnd(20)} ${a.description}\n  ${''.padEnd(20)} input: { ${fields} }\n`
        );
      }
      for (const c of older)
        process.stdout.write(`also seen: worker version ${c.workerVersion} (${c.publishedAt})\n`);
    });

  program
    .command('start <spec>')
    .description('start a task from a JSON spec file (idempotent on the task id)')
    .option('--json', 'print JSON')
    .action(async (specPath: string, opts: { json?: boolean }) => {
      const spec = readSpecFile(specPath);
      checkSpec(spec); // before connecting: a bad spec is a usage error whether or not Temporal is up
      const started = await withClient((client) => client.start(spec));
      if (opts.json)
        printJson(started); // exactly taskId, runId, started, checkedAgainst (docs/cli-and-client.md)
      else
        process.stdout.write(
          `${started.started ? 'started' : 'already exists'}: ${started.taskId} (run ${started.runId})` +
            (started.checkedAgainst
              ? `; checked against worker version ${started.checkedAgainst.workerVersion}\n`
              : '; no worker has published its actions yet: checked the spec statically only\n')
        );
    });

  program
    .command('list')
    .description('list tasks, newest first (from search attributes: works without a worker)')
    .addOption(new Option('--state <state>', 'only tasks in this lifecycle state').choices(LIFECYCLE_STATES))
    .option('--agent <agent>', 'only tasks of this agent')
    .option('--running', 'only tasks whose workflow is still open')
    .option('--limit <n>', 'at most this many', (v) => parsePositiveInt(v, '--limit'), 100)
    .option('--json', 'print JSON')
    .action(
      async (opts: { state?: string; agent?: string; running?: boolean; limit: number; json?: boolean }) => {
        const tasks = await withClient((client) =>
          client.list({
            ...(opts.state ? { state: opts.state as (typeof LIFECYCLE_STATES)[number] } : {}),
            ...(opts.agent ? { agent: opts.agent } : {}),
            ...(opts.running ? { running: true } : {}),
            limit: opts.limit,
          })
        );
        if (opts.json) return printJson(tasks);
        if (tasks.length === 0) return void process.stdout.write('no tasks\n');
        const rows = tasks.map((t) => [
          t.taskId,
          t.state ?? '-',
          t.percent === null ? '-' : `${t.percent}%`,
          t.agent ?? '-',
          t.phase ?? '-',
          t.durability ?? '-',
          t.execution,
          new Date(t.startedAt).toISOString(),
        ]);
        const header = ['TASK', 'STATE', 'PROGRESS', 'AGENT', 'PHASE', 'DURABILITY', 'TEMPORAL', 'STARTED'];
        const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
        for (const row of [header, ...rows]) {
          process.stdout.write(
            `${row
              .map((c, i) => c.padEnd(widths[i] as number))
              .join('  ')
              .trimEnd()}\n`
          );
        }
      }
    );

  program
    .command('status <taskId>')
    .description("show a task's state, progress bar, velocity, ETA and recent activity")
    .option('--json', 'print JSON')
    .action(async (taskId: string, opts: { json?: boolean }) => {
      checkId(taskId, '<taskId>');
      const status = await withClient((client) => client.status(taskId));
      if (opts.json) printJson(status);
      else process.stdout.write(statusText(taskId, status.execution, status.progress));
    });

  program
    .command('watch <taskId>')
    .description('follow a task live until it ends (exit 0 completed, 5 failed, 6 cancelled, 7 partial)')
    .option('--interval <ms>', 'how often to ask, ms', (v) => parsePositiveInt(v, '--interval'), 1000)
    .option('--json', 'print one JSON progress object per line')
    .action(async (taskId: string, opts: { interval: number; json?: boolean }) => {
      checkId(taskId, '<taskId>');
      process.exitCode = await withClient(async (client) => {
        const live = !opts.json && process.stdout.isTTY === true;
        const liveBar = live
          ? new SingleBar(
              { ...BAR, format: '{bar} {fields}', hideCursor: true, clearOnComplete: false, linewrap: false },
              Presets.shades_classic
            )
          : undefined;
        let last: TaskProgress | undefined;
        for await (const p of client.watch(taskId, { intervalMs: opts.interval })) {
          last = p;
          if (opts.json) process.stdout.write(`${JSON.stringify(p)}\n`);
          else if (liveBar) {
            if (!liveBar.isActive) liveBar.start(100, p.percent, { fields: progressFields(p) });
            else liveBar.update(p.percent, { fields: progressFields(p) });
          } else process.stdout.write(`${bar(p.percent)} ${progressFields(p)}\n`);
        }
        liveBar?.stop();
        const { execution } = await client.status(taskId);
        // A task that stopped at a limit completes with its lifecycle "completed"; its result says partial.
        const state = execution === 'COMPLETED' ? (await client.result(taskId)).state : last?.state;
        if (!opts.json)
          process.stdout.write(`${taskId} ended: ${state ?? '?'} (Temporal status ${execution})\n`);
        return exitFor(execution, state);
      });
    });

  for (const [name, verb] of [
    ['pause', 'pause a task: its step stops at the next item and keeps its cursor'],
    ['resume', 'resume a paused task from where its step stopped'],
    ['cancel', 'cancel a task gracefully: final checkpoint, partial results kept'],
  ] as const) {
    program
      .command(`${name} <taskId>`)
      .description(verb)
      .option('--reason <text>', 'why (shown in the activity log)')
      .option('--json', 'print the progress after the request as JSON')
      .action(async (taskId: string, opts: { reason?: string; json?: boolean }) => {
        checkId(taskId, '<taskId>');
        const request = opts.reason === undefined ? {} : { reason: opts.reason };
        checkRequest(name, request);
        const p = await withClient((client) => client[name](taskId, request));
        if (opts.json) return printJson(p);
        const where = p.items ? ` at item ${p.items.done}/${p.items.total ?? '?'}` : '';
        process.stdout.write(
          `${taskId}: ${p.state}${name === 'pause' ? where : ''}, step ${p.step.index + 1}/${p.step.count} ${p.step.title}\n`
        );
      });
  }

  program
    .command('extend <taskId>')
    .description("move a task's deadline: --by 2h, or --until 2026-12-01T00:00:00Z")
    .option('--by <duration>', 'how much later: 90s, 15m, 2h, 1d, 1h30m')
    .option('--until <datetime>', 'the new deadline, ISO 8601 with offset')
    .option('--reason <text>', 'why (shown in the activity log)')
    .option('--json', 'print the progress after the request as JSON')
    .action(
      async (taskId: string, opts: { by?: string; until?: string; reason?: string; json?: boolean }) => {
        const request = {
          ...(opts.by === undefined ? {} : { by: opts.by }),
          ...(opts.until === undefined ? {} : { until: opts.until }),
          ...(opts.reason === undefined ? {} : { reason: opts.reason }),
        };
        checkId(taskId, '<taskId>');
        checkRequest('extend', request);
        const p = await withClient((client) => client.extend(taskId, request));
        if (opts.json) return printJson(p);
        const phase = p.phaseTime ? `, phase limit ${formatDuration(p.phaseTime.limitMs)}` : '';
        process.stdout.write(`${taskId}: deadline now ${p.deadline ?? 'none'}${phase}\n`);
      }
    );

  program
    .command('continue <taskId>')
    .description('continue a task that stopped at a limit (state partial) from where it stopped')
    .requiredOption('--by <duration>', 'how much more time its limits give: 90s, 15m, 2h, 1d')
    .option('--reason <text>', 'why (shown in the activity log)')
    .option('--json', 'print JSON')
    .action(async (taskId: string, opts: { by: string; reason?: string; json?: boolean }) => {
      checkId(taskId, '<taskId>');
      checkRequest('extend', { by: opts.by });
      const started = await withClient((client) =>
        client.continueTask(taskId, {
          by: opts.by,
          ...(opts.reason === undefined ? {} : { reason: opts.reason }),
        })
      );
      if (opts.json) return printJson({ taskId: started.taskId, runId: started.runId });
      process.stdout.write(
        `${taskId}: continued (run ${started.runId}); follow it with: longrun watch ${taskId}\n`
      );
    });

  program
    .command('logs <taskId>')
    .description("print a task's activity log: steps, checkpoints, milestones, errors, control requests")
    .option('--json', 'print JSON')
    .action(async (taskId: string, opts: { json?: boolean }) => {
      checkId(taskId, '<taskId>');
      const entries = await withClient((client) => client.logs(taskId));
      if (opts.json) return printJson(entries);
      for (const e of entries) process.stdout.write(`${formatActivity(e)}\n`);
    });

  program
    .command('checkpoints <taskId>')
    .description("list a task's named checkpoints (oldest first)")
    .option('--json', 'print JSON')
    .action(async (taskId: string, opts: { json?: boolean }) => {
      checkId(taskId, '<taskId>');
      const records = await withClient((client) => client.checkpoints(taskId));
      if (opts.json) return printJson(records);
      for (const r of records) {
        const at = new Date(r.at).toISOString();
        process.stdout.write(
          `${r.id.padEnd(16)} ${r.type.padEnd(10)} step ${String(r.stepIndex).padStart(4)}  ${at}  ${r.label}\n`
        );
      }
    });

  program
    .command('checkpoint <taskId>')
    .description('record a manual checkpoint now')
    .requiredOption('--label <text>', 'name of the checkpoint')
    .option('--json', 'print JSON')
    .action(async (taskId: string, opts: { label: string; json?: boolean }) => {
      checkId(taskId, '<taskId>');
      checkRequest('checkpoint', { label: opts.label });
      const record = await withClient((client) => client.checkpoint(taskId, opts.label));
      if (opts.json) printJson(record);
      else process.stdout.write(`recorded ${record.id} at step ${record.stepIndex}: ${record.label}\n`);
    });

  program
    .command('rollback <taskId> <checkpointId>')
    .description('reset a task to a named checkpoint; later steps run again')
    .option('--json', 'print JSON')
    .action(async (taskId: string, checkpointId: string, opts: { json?: boolean }) => {
      checkId(taskId, '<taskId>');
      checkId(checkpointId, '<checkpointId>');
      const result = await withClient((client) => client.rollback(taskId, checkpointId));
      if (opts.json) return printJson(result);
      process.stdout.write(
        `rolled ${taskId} back to ${checkpointId} (new run ${result.runId}); steps to run again: ${result.stepsToRedo.join(', ') || 'none'}\n`
      );
    });

  program
    .command('failed')
    .description(
      'list dead letters: tasks whose latest run failed, with the failure and the recovery checkpoint'
    )
    .option('--agent <agent>', 'only tasks of this agent')
    .option('--limit <n>', 'at most this many', (v) => parsePositiveInt(v, '--limit'), 100)
    .option('--json', 'print JSON')
    .action(async (opts: { agent?: string; limit: number; json?: boolean }) => {
      const tasks = await withClient((client) =>
        client.listFailed({ ...(opts.agent ? { agent: opts.agent } : {}), limit: opts.limit })
      );
      if (opts.json) return printJson(tasks);
      if (tasks.length === 0) return void process.stdout.write('no failed tasks\n');
      for (const t of tasks) {
        const at = t.closedAt === null ? '-' : new Date(t.closedAt).toISOString();
        const f = t.failure;
        process.stdout.write(
          `${t.taskId}  failed ${at}${t.agent ? `  agent ${t.agent}` : ''}\n` +
            `  ${t.error ?? 'failed (no failure record)'}\n` +
            (f
              ? `  last failure: step ${f.stepId}, ${f.kind}, attempt ${f.attempt ?? '?'}, decision ${f.decision}\n`
              : '') +
            (t.recoveryCheckpoint
              ? `  retry: longrun retry ${t.taskId}   (from ${t.recoveryCheckpoint.id}: ${t.recoveryCheckpoint.label})\n`
              : `  retry: longrun retry ${t.taskId} --from start\n`)
        );
      }
    });

  program
    .command('retry <taskId>')
    .description(
      'run a failed task again from its recovery checkpoint (the failed step), a named checkpoint, or the start'
    )
    .option('--from <checkpoint>', '"recovery" (default), "start" or a checkpoint id', 'recovery')
    .option('--json', 'print JSON')
    .action(async (taskId: string, opts: { from: string; json?: boolean }) => {
      checkId(taskId, '<taskId>');
      checkId(opts.from, '--from');
      const result = await withClient((client) => client.retry(taskId, { from: opts.from }));
      if (opts.json) return printJson(result);
      const where = result.checkpoint
        ? `checkpoint ${result.checkpoint.id} (${result.checkpoint.label})`
        : 'the start';
      process.stdout.write(`retrying ${taskId} from ${where} (new run ${result.runId})\n`);
    });

  program
    .command('result <taskId>')
    .description(
      'wait for a task to end and print its result (a cancelled task: its partial results) as JSON'
    )
    .action(async (taskId: string) => {
      checkId(taskId, '<taskId>');
      const result = await withClient((client) => client.result(taskId));
      printJson(result);
      if (result.state === 'cancelled') process.exitCode = EXIT.taskCancelled;
      if (result.state === 'partial') process.exitCode = EXIT.partial;
    });

  return program;
}

function failureText(err: WorkflowFailedError): string {
  let current: unknown = err.cause;
  while (current instanceof Error && current.cause instanceof Error) current = current.cause;
  return current instanceof Error ? current.message : err.message;
}

export async function main(argv: string[] = process.argv): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help') {
      process.exitCode = EXIT.ok;
    } else if (code?.startsWith('commander.')) {
      process.exitCode = EXIT.badInput;
    } else if (err instanceof ValidationError) {
      process.stderr.write(`error: ${err.message}\n`);
      process.exitCode = EXIT.badInput;
    } else if (err instanceof TaskRequestRejectedError) {
      process.stderr.write(`error: ${err.message}\n`);
      process.exitCode = EXIT.rejected;
    } else if (err instanceof UnknownTaskError || err instanceof UnknownCheckpointError) {
      process.stderr.write(`error: ${err.message}\n`);
      process.exitCode = EXIT.unknownTask;
    } else if (err instanceof WorkflowFailedError) {
      process.stderr.write(`error: the task failed: ${failureText(err)}\n`);
      process.exitCode = EXIT.taskFailed;
    } else {
      process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = EXIT.failure;
    }
  }
}
