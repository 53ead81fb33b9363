/**
 * Reading tasks from the server's visibility store (search attributes and memos): no worker needed.
 * Every query is built by `visibilityQuery` from typed clauses, never by string concatenation.
 */
import type { Client, WorkflowExecutionDescription, WorkflowExecutionInfo } from '@temporalio/client';
import { LIFECYCLE_STATES, type LifecycleState } from '../shared/lifecycle';
import {
  LongrunAgent,
  LongrunDurability,
  LongrunPhase,
  LongrunProgress,
  LongrunState,
} from '../shared/search-attributes';
import { taskIdSchema } from '../shared/spec';
import { failureMemoOf } from '../shared/task-result';
import { parseOrThrow } from '../shared/validation';
import { visibilityQuery, type VisibilityClause } from '../shared/visibility-query';
import {
  FailedFilterSchema,
  ListFilterSchema,
  type FailedFilter,
  type FailedTask,
  type ListFilter,
  type TaskSummary,
} from './types';

export function summaryOf(info: WorkflowExecutionInfo): TaskSummary {
  const sa = info.typedSearchAttributes;
  const state = sa.get(LongrunState) ?? null;
  return {
    taskId: info.workflowId,
    runId: info.runId,
    execution: info.status.name,
    state: (LIFECYCLE_STATES as readonly string[]).includes(state ?? '') ? (state as LifecycleState) : null,
    agent: sa.get(LongrunAgent) ?? null,
    durability: sa.get(LongrunDurability) ?? null,
    phase: sa.get(LongrunPhase) ?? null,
    percent: sa.get(LongrunProgress) ?? null,
    startedAt: info.startTime.getTime(),
    closedAt: info.closeTime?.getTime() ?? null,
  };
}

/** longrun tasks, newest first, one row per task (continued-as-new runs are left out). */
export async function listTasks(client: Client, filter: ListFilter): Promise<TaskSummary[]> {
  const f = parseOrThrow(ListFilterSchema, filter, 'list filter');
  const clauses: VisibilityClause[] = [
    ['WorkflowType', '=', 'longTask'],
    ['ExecutionStatus', '!=', 'ContinuedAsNew'],
  ];
  if (f.state) clauses.push(['LongrunState', '=', f.state]);
  if (f.agent) clauses.push(['LongrunAgent', '=', f.agent]);
  if (f.running) clauses.push(['ExecutionStatus', '=', 'Running']);
  const out: TaskSummary[] = [];
  const limit = f.limit ?? 100;
  for await (const info of client.workflow.list({
    query: visibilityQuery(clauses),
    pageSize: Math.min(limit, 1000),
  })) {
    out.push(summaryOf(info));
    if (out.length >= limit) break;
  }
  return out;
}

/** Dead letters: tasks whose latest run failed, newest first, with what their memo says. */
export async function listFailedTasks(
  client: Client,
  filter: FailedFilter,
  describe: (taskId: string) => Promise<WorkflowExecutionDescription | undefined>
): Promise<FailedTask[]> {
  const f = parseOrThrow(FailedFilterSchema, filter, 'failed filter');
  const out: FailedTask[] = [];
  const seen = new Set<string>();
  const clauses: VisibilityClause[] = [
    ['WorkflowType', '=', 'longTask'],
    ['ExecutionStatus', '=', 'Failed'],
  ];
  if (f.agent) clauses.push(['LongrunAgent', '=', f.agent]);
  for await (const info of client.workflow.list({ query: visibilityQuery(clauses) })) {
    const row = summaryOf(info);
    // Visibility lists every run: only a task's latest run says whether it is still failed.
    if (row.execution !== 'FAILED' || seen.has(row.taskId)) continue;
    seen.add(row.taskId);
    const latest = await describe(row.taskId);
    if (!latest || latest.runId !== row.runId || latest.status.name !== 'FAILED') continue;
    const memo = failureMemoOf(latest.memo);
    out.push({
      ...row,
      error: memo?.error ?? null,
      failure: memo?.failure ?? null,
      recoveryCheckpoint: memo?.recoveryCheckpoint ?? null,
    });
    if (out.length >= (f.limit ?? 100)) break;
  }
  return out;
}

/** Every run of a task (its first, its continued-as-new and reset runs), oldest first. */
export async function runsOf(
  client: Client,
  taskId: string
): Promise<Array<{ runId: string; startedAt: number }>> {
  const query = visibilityQuery([['WorkflowId', '=', parseOrThrow(taskIdSchema(), taskId, 'task id')]]);
  const runs: Array<{ runId: string; startedAt: number }> = [];
  for await (const info of client.workflow.list({ query })) {
    runs.push({ runId: info.runId, startedAt: info.startTime.getTime() });
  }
  return runs.sort((a, b) => a.startedAt - b.startedAt);
}
