/** Commands that start tasks and read them: start, list, status, watch, logs, checkpoints, result. */
import { Option, type Command } from 'commander';
import { formatActivity } from '../shared/activity-log';
import { LIFECYCLE_STATES, type LifecycleState } from '../shared/lifecycle';
import type { TaskProgress } from '../shared/progress';
import { checkSpec } from '../shared/spec-check';
import { EXIT, exitForEnding } from '../runtime/exit-codes';
import { checkpointLine, startedText, taskTable } from './format';
import { checkId, given, positiveInt, readSpecFile } from './input';
import { print, printJson, withClient } from './io';
import { ProgressRenderer, renderModeFor, statusText } from './render';

export function addTaskCommands(program: Command): void {
  program.commandsGroup('Tasks:');

  program
    .command('start <spec>')
    .description('start a task from a JSON spec file (idempotent on the task id)')
    .option('--json', 'print JSON')
    .action(async (specPath: string, opts: { json?: boolean }) => {
      const spec = readSpecFile(specPath);
      checkSpec(spec); // before connecting: a bad spec is a usage error whether or not Temporal is up
      const started = await withClient((client) => client.start(spec));
      if (opts.json)
        printJson(started); // exactly taskId, runId, started, checkedAgainst
      else print(startedText(started));
    });

  program
    .command('list')
    .description('list tasks, newest first (from search attributes: works without a worker)')
    .addOption(new Option('--state <state>', 'only tasks in this lifecycle state').choices(LIFECYCLE_STATES))
    .option('--agent <agent>', 'only tasks of this agent')
    .option('--running', 'only tasks whose workflow is still open')
    .option('--limit <n>', 'at most this many', positiveInt('--limit'), 100)
    .option('--json', 'print JSON')
    .action(
      async (opts: {
        state?: LifecycleState;
        agent?: string;
        running?: boolean;
        limit: number;
        json?: boolean;
      }) => {
        const tasks = await withClient((client) =>
          client.list({
            ...given({ state: opts.state, agent: opts.agent || undefined }),
            ...(opts.running ? { running: true } : {}),
            limit: opts.limit,
          })
        );
        if (opts.json) printJson(tasks);
        else print(taskTable(tasks));
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
      else print(statusText(taskId, status.execution, status.progress));
    });

  program
    .command('watch <taskId>')
    .description(
      `follow a task live until it ends (exit ${EXIT.ok} completed, ${EXIT.taskFailed} failed, ` +
        `${EXIT.taskCancelled} cancelled, ${EXIT.partial} partial)`
    )
    .option('--interval <ms>', 'how often to ask, ms', positiveInt('--interval'), 1000)
    .option('--json', 'print one JSON progress object per line')
    .action(async (taskId: string, opts: { interval: number; json?: boolean }) => {
      checkId(taskId, '<taskId>');
      process.exitCode = await withClient(async (client) => {
        const renderer = new ProgressRenderer(renderModeFor(opts.json === true, process.stdout));
        let last: TaskProgress | undefined;
        try {
          for await (const p of client.watch(taskId, { intervalMs: opts.interval })) {
            last = p;
            renderer.update(p);
          }
        } finally {
          renderer.stop();
        }
        const { execution } = await client.status(taskId);
        // A task that stopped at a limit completes with its lifecycle "completed"; its result says partial.
        const state = execution === 'COMPLETED' ? (await client.result(taskId)).state : last?.state;
        if (!opts.json) print(`${taskId} ended: ${state ?? '?'} (Temporal status ${execution})\n`);
        return exitForEnding(execution, state);
      });
    });

  program
    .command('logs <taskId>')
    .description("print a task's activity log: steps, checkpoints, milestones, errors, control requests")
    .option('--json', 'print JSON')
    .action(async (taskId: string, opts: { json?: boolean }) => {
      checkId(taskId, '<taskId>');
      const entries = await withClient((client) => client.logs(taskId));
      if (opts.json) printJson(entries);
      else print(entries.map((e) => `${formatActivity(e)}\n`).join(''));
    });

  program
    .command('checkpoints <taskId>')
    .description("list a task's named checkpoints (oldest first)")
    .option('--json', 'print JSON')
    .action(async (taskId: string, opts: { json?: boolean }) => {
      checkId(taskId, '<taskId>');
      const records = await withClient((client) => client.checkpoints(taskId));
      if (opts.json) printJson(records);
      else print(records.map(checkpointLine).join(''));
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
      // Failed, terminated and timed-out tasks throw here; main() maps them as watch does.
      process.exitCode = exitForEnding('COMPLETED', result.state);
    });
}
