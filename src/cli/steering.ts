/** Commands that steer a running task: pause, resume, cancel, extend, continue, checkpoint, rollback. */
import { budgetLineText } from '../shared/budget';
import type { ExtendRequest } from '../shared/control';
import { hostname, userInfo } from 'node:os';
import type { Command } from 'commander';
import { formatDuration } from '../shared/duration';
import { steeredText } from './format';
import { checkId, checkRequest, given } from './input';
import { print, printJson, withClient } from './io';

const STOP_AND_GO = [
  ['pause', 'pause a task: its step stops at the next item and keeps its cursor'],
  ['resume', 'resume a paused task from where its step stopped'],
  ['cancel', 'cancel a task gracefully: final checkpoint, partial results kept'],
] as const;

export function addSteeringCommands(program: Command): void {
  program.commandsGroup('Steering:');

  for (const [name, description] of STOP_AND_GO) {
    program
      .command(`${name} <taskId>`)
      .description(description)
      .option('--reason <text>', 'why (shown in the activity log)')
      .option('--json', 'print the progress after the request as JSON')
      .action(async (taskId: string, opts: { reason?: string; json?: boolean }) => {
        checkId(taskId, '<taskId>');
        const request = given({ reason: opts.reason });
        checkRequest(name, request);
        const p = await withClient((client) => client[name](taskId, request));
        if (opts.json) printJson(p);
        else print(steeredText(name, taskId, p));
      });
  }

  program
    .command('extend <taskId>')
    .description(
      "move a task's deadline (--by 2h, or --until 2026-12-01T00:00:00Z) or raise its model budget (--cost 10)"
    )
    .option('--by <duration>', 'how much later: 90s, 15m, 2h, 1d, 1h30m')
    .option('--until <datetime>', 'the new deadline, ISO 8601 with offset')
    .option('--cost <usd>', 'the new hard limit of the cost budget, US dollars')
    .option('--tokens <n>', 'the new hard limit of the token budget')
    .option('--calls <n>', 'the new hard limit of the model-call budget')
    .option('--reason <text>', 'why (shown in the activity log)')
    .option('--json', 'print the progress after the request as JSON')
    .action(async (taskId: string, opts: ExtendOptions) => {
      const budget = given({
        costUsd: numberOf(opts.cost),
        tokens: numberOf(opts.tokens),
        calls: numberOf(opts.calls),
      });
      const request = {
        ...given({ by: opts.by, until: opts.until, reason: opts.reason }),
        ...(Object.keys(budget).length ? { budget } : {}),
      };
      checkId(taskId, '<taskId>');
      checkRequest('extend', request);
      // checkRequest refused anything the schema does not accept.
      const p = await withClient((client) => client.extend(taskId, request as ExtendRequest));
      if (opts.json) return printJson(p);
      const phase = p.phaseTime ? `, phase limit ${formatDuration(p.phaseTime.limitMs)}` : '';
      const lines = (p.budget ?? []).map((l) => `, ${l.dimension} budget ${budgetLineText(l)}`).join('');
      print(`${taskId}: deadline now ${p.deadline ?? 'none'}${phase}${lines}\n`);
    });

  for (const [name, verb] of [
    ['approve', 'approve'],
    ['reject', 'reject'],
  ] as const) {
    program
      .command(`${name} <taskId>`)
      .description(`${verb} the task's pending approval (the step waiting for it goes on)`)
      .option('--id <id>', 'which approval, when several are pending (see longrun status)')
      .option('--step <stepId>', 'the step that asked, when two ask with the same id')
      .option('--note <text>', 'why (shown in the activity log)')
      .option('--by <name>', 'who answers', defaultAnswerer())
      .option('--json', 'print the decision as JSON')
      .action(
        async (
          taskId: string,
          opts: { id?: string; step?: string; note?: string; by?: string; json?: boolean }
        ) => {
          checkId(taskId, '<taskId>');
          const answer = given({ id: opts.id, stepId: opts.step, note: opts.note, by: opts.by });
          const decision = await withClient((client) => client[name](taskId, answer));
          if (opts.json) return printJson(decision);
          print(
            `${taskId}: approval ${decision.id} (step ${decision.stepId}) ${decision.decision} by ${decision.by}\n`
          );
        }
      );
  }

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
        client.continueTask(taskId, { by: opts.by, ...given({ reason: opts.reason }) })
      );
      if (opts.json) return printJson({ taskId: started.taskId, runId: started.runId });
      print(`${taskId}: continued (run ${started.runId}); follow it with: longrun watch ${taskId}\n`);
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
      else print(`recorded ${record.id} at step ${record.stepIndex}: ${record.label}\n`);
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
      print(
        `rolled ${taskId} back to ${checkpointId} (new run ${result.runId}); steps to run again: ${result.stepsToRedo.join(', ') || 'none'}\n`
      );
    });
}

interface ExtendOptions {
  by?: string;
  until?: string;
  cost?: string;
  tokens?: string;
  calls?: string;
  reason?: string;
  json?: boolean;
}

/** A number option as given (a text that is not a number stays one, so the check names it). */
function numberOf(text: string | undefined): number | string | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  return text.trim() !== '' && Number.isFinite(n) ? n : text;
}

/** Who answers an approval unless `--by` says: the user and machine the CLI runs as. */
function defaultAnswerer(): string {
  try {
    return `${userInfo().username}@${hostname()}`;
  } catch {
    return hostname();
  }
}
