/**
 * The task's model budget, acted on whenever its usage grows: a soft threshold warns once (log,
 * webhook), a hard one pauses the task at its limit (resume needs an `extend` that raises it).
 */
import {
  budgetLimits,
  budgetReached,
  formatAmount,
  softCrossed,
  stepBudget,
  usedOf,
  type BudgetLimits,
} from '../../shared/budget';
import { notifyLater } from './notify';
import { taskUsage } from './progress';
import type { StepRequest } from '../../shared/step-io';
import { note, type TaskRun } from './run';

/** The budget in force: as `extend` raised it, else the spec's; null when the task has none. */
export function budgetOf(run: TaskRun): BudgetLimits | null {
  return run.state.budget ?? budgetLimits(run.spec.budget);
}

/** The hard limit a paused-at-limit task still exceeds, else null. */
export function budgetStillReached(run: TaskRun): string | null {
  return budgetReached(budgetOf(run), taskUsage(run));
}

export function checkBudget(run: TaskRun): void {
  const limits = budgetOf(run);
  if (!limits) return;
  const { state, live } = run;
  const usage = taskUsage(run);
  for (const dim of softCrossed(limits, usage, state.budgetWarned ?? [])) {
    state.budgetWarned = [...(state.budgetWarned ?? []), dim];
    const limit = limits[dim];
    const used = usedOf(usage, dim);
    const message = `budget warning: ${formatAmount(dim, used)} used, warn at ${formatAmount(dim, limit?.soft ?? 0)}${limit?.hard == null ? '' : ` of ${formatAmount(dim, limit.hard)}`}`;
    note(run, 'warning', message);
    notifyLater(run, 'task.budget', {
      level: 'warning',
      dimension: dim,
      used,
      soft: limit?.soft,
      hard: limit?.hard,
      message,
    });
  }
  const reached = budgetReached(limits, usage);
  if (reached === null || live.requests.limit || live.requests.cancel || state.lifecycle.state === 'paused')
    return;
  live.requests.limit = { policy: 'pause', reason: reached };
  note(run, 'warning', `${reached}: pausing with every cursor saved; extend the budget, then resume`);
  notifyLater(run, 'task.budget', { level: 'limit', message: reached });
}

/** What the budget has left for a schedule: the limits less what the task has used (running units as reported). */
export function budgetForStep(run: TaskRun): Pick<StepRequest, 'budget'> {
  const budget = stepBudget(budgetOf(run), taskUsage(run));
  return budget ? { budget } : {};
}
