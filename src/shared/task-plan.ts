/**
 * A task's plan: its steps in declaration order with the graph between them, their weights, the limits
 * the scheduler works within and which outputs are kept. Built once per workflow run from the spec.
 * Pure.
 */
import { stepGraph, type StepGraph } from './graph';
import { countIndices, hasIndex, type RangeSet } from './ranges';
import {
  DEFAULT_FAN_OUT_PARALLEL,
  DEFAULT_TASK_PARALLEL,
  type SchedulerView,
  type StepLimitsView,
} from './scheduling';
import { flattenSteps, referencedSteps, type PlannedStep, type TaskSpec } from './spec';

export interface TaskPlan {
  steps: PlannedStep[];
  graph: StepGraph;
  weights: number[];
  totalWeight: number;
  /** Steps whose output is kept: referenced by `$from`, milestones and the last phase's steps. */
  keepOutputs: ReadonlySet<string>;
  scheduler: Pick<SchedulerView, 'graph' | 'steps' | 'phaseMaxParallel' | 'taskMaxParallel'>;
}

export function buildPlan(spec: TaskSpec): TaskPlan {
  const steps = flattenSteps(spec);
  const graph = stepGraph(spec);
  const weights = steps.map((s) => s.step.weight);
  const lastPhase = spec.phases.length - 1;
  const keepOutputs = referencedSteps(spec);
  for (const s of steps) if (s.step.milestone || s.phaseIndex === lastPhase) keepOutputs.add(s.step.id);
  const limits: StepLimitsView[] = steps.map((s) => ({
    id: s.step.id,
    forEach: s.step.forEach !== undefined,
    maxParallel: s.step.maxParallel ?? DEFAULT_FAN_OUT_PARALLEL,
  }));
  return {
    steps,
    graph,
    weights,
    totalWeight: weights.reduce((a, b) => a + b, 0),
    keepOutputs,
    scheduler: {
      graph,
      steps: limits,
      phaseMaxParallel: spec.phases.map((p) => p.maxParallel),
      taskMaxParallel: spec.maxParallel ?? DEFAULT_TASK_PARALLEL,
    },
  };
}

/** Percentage points of the task a step is worth. */
export function shareOf(plan: TaskPlan, index: number): number {
  return plan.totalWeight > 0 ? ((plan.weights[index] ?? 0) / plan.totalWeight) * 100 : 0;
}

/** The part of the task's percent from done steps alone. */
export function donePercent(plan: TaskPlan, done: RangeSet): number {
  if (plan.totalWeight <= 0) return 0;
  const weight = plan.weights.reduce((sum, w, i) => (hasIndex(done, i) ? sum + w : sum), 0);
  return Math.min(100, (weight / plan.totalWeight) * 100);
}

/** Steps done (completed or skipped). */
export function doneCount(done: RangeSet): number {
  return countIndices(done);
}

/** The first step in plan order that is not done, or null when all are. */
export function firstNotDone(plan: TaskPlan, done: RangeSet): PlannedStep | null {
  return plan.steps.find((s) => !hasIndex(done, s.index)) ?? null;
}

/** Whether every step of phase `phaseIndex` is done. */
export function phaseDone(plan: TaskPlan, done: RangeSet, phaseIndex: number): boolean {
  const [first, last] = plan.graph.phaseRanges[phaseIndex] as [number, number];
  for (let i = first; i <= last; i++) if (!hasIndex(done, i)) return false;
  return true;
}
