/**
 * The scheduler's one decision: which units of work to start now. A unit is a step, one item of a
 * `forEach` step, or the bookkeeping that opens a fan-out (`fan-init`, counting its items) and closes it
 * (`gather`, collecting item outputs). Pure: the same state always gives the same units, in plan order.
 */
import type { StepGraph } from './graph';
import { addIndex, hasIndex, missingIndices, type Range, type RangeSet } from './ranges';
import type { FanState } from './task-state';

export type UnitPlan =
  | { kind: 'step'; stepIndex: number }
  | { kind: 'fan-init'; stepIndex: number }
  | { kind: 'item'; stepIndex: number; item: number }
  | { kind: 'gather'; stepIndex: number };

export interface RunningUnitView {
  stepIndex: number;
  kind: UnitPlan['kind'];
  /** The item of an `item` unit. */
  item: number | null;
}

export interface StepLimitsView {
  id: string;
  forEach: boolean;
  /** Items of a `forEach` step running at once. */
  maxParallel: number;
}

export interface SchedulerView {
  graph: StepGraph;
  steps: readonly StepLimitsView[];
  /** Steps of a phase running at once; undefined for a sequential phase (its order already limits it). */
  phaseMaxParallel: ReadonlyArray<number | undefined>;
  /** Units running at once in the whole task. */
  taskMaxParallel: number;
  done: RangeSet;
  fans: Readonly<Record<string, FanState>>;
  running: readonly RunningUnitView[];
}

/** Default `maxParallel` of a `forEach` step and of a task. */
export const DEFAULT_FAN_OUT_PARALLEL = 4;
export const DEFAULT_TASK_PARALLEL = 32;

/** The key of a unit: the step id, with `[item]` for a fan-out item and a suffix for bookkeeping. */
export function unitKey(stepId: string, unit: Pick<UnitPlan, 'kind'> & { item?: number | null }): string {
  switch (unit.kind) {
    case 'step':
      return stepId;
    case 'item':
      return `${stepId}[${unit.item ?? 0}]`;
    case 'fan-init':
      return `${stepId}:items`;
    case 'gather':
      return `${stepId}:gather`;
  }
}

/** Whether every step a step waits for is done. */
export function dependenciesDone(graph: StepGraph, done: RangeSet, index: number): boolean {
  const node = graph.nodes[index];
  if (!node) return false;
  if (!node.after.every((i) => hasIndex(done, i))) return false;
  if (node.afterPhase === null) return true;
  const [first, last] = graph.phaseRanges[node.afterPhase] as [number, number];
  return rangeCovered(done, first, last);
}

export function rangeCovered(set: RangeSet, first: number, last: number): boolean {
  return set.some(([a, b]) => a <= first && b >= last);
}

/** The units to start now, in plan order (and item order), within every parallelism limit. */
export function readyUnits(view: SchedulerView): UnitPlan[] {
  const out: UnitPlan[] = [];
  let slots = view.taskMaxParallel - view.running.length;
  const runningByStep = new Map<number, RunningUnitView[]>();
  for (const r of view.running)
    runningByStep.set(r.stepIndex, [...(runningByStep.get(r.stepIndex) ?? []), r]);
  const activeSteps = new Map<number, Set<number>>(); // phase → steps with a running unit
  for (const index of runningByStep.keys()) {
    const phase = view.graph.nodes[index]?.phaseIndex ?? 0;
    activeSteps.set(phase, (activeSteps.get(phase) ?? new Set()).add(index));
  }

  for (const node of view.graph.nodes) {
    if (slots <= 0) break;
    const i = node.index;
    if (hasIndex(view.done, i) || !dependenciesDone(view.graph, view.done, i)) continue;
    const running = runningByStep.get(i) ?? [];
    const phaseCap = view.phaseMaxParallel[node.phaseIndex];
    const active = activeSteps.get(node.phaseIndex) ?? new Set<number>();
    if (running.length === 0 && phaseCap !== undefined && active.size >= phaseCap) continue;
    const step = view.steps[i] as StepLimitsView;
    const before = out.length;
    if (!step.forEach) {
      if (running.length === 0) out.push({ kind: 'step', stepIndex: i });
    } else {
      const fan = view.fans[step.id];
      if (!fan) {
        if (running.length === 0) out.push({ kind: 'fan-init', stepIndex: i });
      } else {
        const items = running.filter((r) => r.kind === 'item');
        const busy = items.reduce<Range[]>((set, r) => addIndex(set, r.item ?? 0), []);
        const room = Math.min(slots, step.maxParallel - items.length);
        const next = room > 0 ? missingIndices(fan.total, [fan.done, fan.failed, busy], room) : [];
        for (const item of next) out.push({ kind: 'item', stepIndex: i, item });
        const allAccounted = missingIndices(fan.total, [fan.done, fan.failed], 1).length === 0;
        if (allAccounted && running.length === 0) out.push({ kind: 'gather', stepIndex: i });
      }
    }
    slots -= out.length - before;
    if (out.length > before) activeSteps.set(node.phaseIndex, active.add(i));
  }
  return out;
}
