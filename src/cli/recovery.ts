/** Commands for tasks that failed: list the dead letters, run one again. */
import type { Command } from 'commander';
import { failedText } from './format';
import { checkId, given, positiveInt } from './input';
import { print, printJson, withClient } from './io';

export function addRecoveryCommands(program: Command): void {
  program.commandsGroup('Recovery:');

  program
    .command('failed')
    .description(
      'list dead letters: tasks whose latest run failed, with the failure and the recovery checkpoint'
    )
    .option('--agent <agent>', 'only tasks of this agent')
    .option('--limit <n>', 'at most this many', positiveInt('--limit'), 100)
    .option('--json', 'print JSON')
    .action(async (opts: { agent?: string; limit: number; json?: boolean }) => {
      const tasks = await withClient((client) =>
        client.listFailed({ ...given({ agent: opts.agent || undefined }), limit: opts.limit })
      );
      if (opts.json) printJson(tasks);
      else print(failedText(tasks));
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
      print(`retrying ${taskId} from ${where} (new run ${result.runId})\n`);
    });
}
