/**
 * What a task answers without changing anything (queries), and the progress reports its running steps
 * send it (a signal, validated: a malformed report is noted and ignored, never fatal).
 */
import { setHandler } from '@temporalio/workflow';
import { durations } from '../../shared/lifecycle';
import { hasIndex } from '../../shared/ranges';
import { appendSample } from '../../shared/samples';
import { unitKey } from '../../shared/scheduling';
import { parseStepProgress } from '../../shared/step-io';
import { doneCount } from '../../shared/task-plan';
import {
  checkpointsQuery,
  failuresQuery,
  lifecycleQuery,
  logsQuery,
  planQuery,
  progressQuery,
  resultQuery,
  stepProgressSignal,
  type PartialResult,
  type PlannedStepView,
} from '../messages';
import { onIdle } from './limits';
import { checkBudget } from './budget';
import { progressOf, publish } from './progress';
import { note, now, type TaskRun } from './run';

function partialResult(run: TaskRun): PartialResult {
  const { state, plan, spec, live } = run;
  return {
    taskId: spec.taskId,
    state: state.lifecycle.state,
    outputs: state.outputs,
    stepsCompleted: doneCount(state.done),
    stepCount: plan.steps.length,
    run: state.run,
    lastCheckpoint: state.checkpoints[state.checkpoints.length - 1] ?? null,
    reason: live.requests.cancel?.reason ?? live.error,
  };
}

function planView(run: TaskRun): PlannedStepView[] {
  const { state, plan } = run;
  return plan.steps.map((s) => {
    const node = plan.graph.nodes[s.index];
    const needs = [
      ...(node?.after ?? []).map((i) => plan.steps[i]?.step.id as string),
      ...(node?.afterPhase == null
        ? []
        : plan.steps.filter((p) => p.phaseIndex === node.afterPhase).map((p) => p.step.id)),
    ];
    const started =
      s.step.id in state.stopped ||
      s.step.id in state.fans ||
      [...run.live.running.values()].some((u) => u.step.index === s.index);
    const status: PlannedStepView['status'] = state.skipped.includes(s.step.id)
      ? 'skipped'
      : hasIndex(state.done, s.index)
        ? 'done'
        : started
          ? 'started'
          : 'pending';
    return {
      index: s.index,
      id: s.step.id,
      phaseId: s.phase.id,
      action: s.step.action,
      title: s.step.title ?? s.step.id,
      needs,
      status,
    };
  });
}

function onStepProgress(run: TaskRun, payload: unknown): void {
  const parsed = parseStepProgress(payload);
  if (!parsed.ok) {
    note(run, 'warning', `ignored a malformed stepProgress signal: ${parsed.why}`);
    return;
  }
  const { report } = parsed;
  const plan =
    report.item === undefined ? { kind: 'step' as const } : { kind: 'item' as const, item: report.item };
  const key = unitKey(report.stepId, plan);
  const unit = run.live.running.get(key);
  if (!unit) return; // a late report of a unit that has ended or been stopped
  unit.items = {
    done: report.done,
    total: report.total,
    rate: report.rate,
    at: report.at,
    ...(report.note === undefined ? {} : { note: report.note }),
  };
  if (report.started) run.live.awaitingStart.delete(key);
  if (report.usage) {
    unit.usage = report.usage;
    checkBudget(run);
  }
  if (report.idle) onIdle(run, key, report.idle);
  const progress = progressOf(run);
  run.state.progressHistory = appendSample(run.state.progressHistory, {
    at: now(),
    percent: progress.percent,
    stepsCompleted: progress.stepsCompleted,
    activeMs: progress.activeMs,
  });
  publish(run);
}

export function registerQueries(run: TaskRun): void {
  setHandler(progressQuery, () => progressOf(run), {
    description:
      'Percent, state, every running step, items, velocity, ETA, recent activity, progress history',
  });
  setHandler(checkpointsQuery, () => run.state.checkpoints, {
    description: 'Named checkpoints to roll back to, oldest first',
  });
  setHandler(
    lifecycleQuery,
    () => ({
      ...run.state.lifecycle,
      ...durations(run.state.lifecycle, now()),
      progressHistory: run.state.progressHistory,
    }),
    { description: 'Lifecycle state, transition log, total and active time, progress history' }
  );
  setHandler(failuresQuery, () => run.state.failures ?? [], {
    description: 'Failure history: step, kind, message, attempt, time, decision (skip, rollback, fail)',
  });
  setHandler(logsQuery, () => run.state.activity, {
    description: 'The activity log: steps, checkpoints, milestones, errors, control requests (latest 100)',
  });
  setHandler(resultQuery, () => partialResult(run), {
    description: 'Outputs so far and the latest checkpoint; after a cancel, the partial results',
  });
  setHandler(planQuery, () => planView(run), {
    description: 'The steps: what each waits for and where it is',
  });
  setHandler(stepProgressSignal, (report) => onStepProgress(run, report), {
    description: 'Item progress of a running step (sent by the step itself)',
  });
}
