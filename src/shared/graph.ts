/**
 * The step graph of a task: which steps each step waits for (`needs`, or by default the previous step
 * of a sequential phase and the whole previous phase otherwise), checked for unknown ids, cycles and
 * `$from` references to steps that do not run first. Pure; the spec schema reports its issues and the
 * workflow's scheduler reads the plan.
 */

/** The parts of a spec the graph is made of (structural, so the schema can check it before typing it). */
export interface GraphSpec {
  category?: string;
  phases: ReadonlyArray<{
    id: string;
    maxParallel?: number;
    steps: ReadonlyArray<{
      id: string;
      action: string;
      input: Record<string, unknown>;
      needs?: readonly string[];
      forEach?: unknown;
      maxParallel?: number;
      repeat?: { times?: number };
    }>;
  }>;
}

export interface PlanNode {
  /** Position in declaration order, 0-based. */
  index: number;
  id: string;
  phaseIndex: number;
  /** Steps (by index) that must be done first. */
  after: number[];
  /** A phase every step of which must be done first, or null. */
  afterPhase: number | null;
}

export interface StepGraph {
  nodes: PlanNode[];
  /** Plan indices of each phase's steps, first and last. */
  phaseRanges: Array<[number, number]>;
  indexOf: ReadonlyMap<string, number>;
}

export interface GraphIssue {
  path: PropertyKey[];
  message: string;
}

/** The graph of a spec whose ids are unique (unknown `needs` are left out; `graphIssues` names them). */
export function stepGraph(spec: GraphSpec): StepGraph {
  const nodes: PlanNode[] = [];
  const phaseRanges: Array<[number, number]> = [];
  const indexOf = new Map<string, number>();
  spec.phases.forEach((phase) => {
    for (const step of phase.steps) if (!indexOf.has(step.id)) indexOf.set(step.id, indexOf.size);
  });
  let index = 0;
  spec.phases.forEach((phase, p) => {
    const first = index;
    phase.steps.forEach((step, s) => {
      let after: number[] = [];
      let afterPhase: number | null = null;
      if (step.needs !== undefined) {
        after = step.needs.flatMap((id) => {
          const i = indexOf.get(id);
          return i === undefined || i === index ? [] : [i];
        });
      } else if (phase.maxParallel === undefined && s > 0) {
        after = [index - 1];
      } else if (p > 0) {
        afterPhase = p - 1;
      }
      nodes.push({ index, id: step.id, phaseIndex: p, after, afterPhase });
      index++;
    });
    phaseRanges.push([first, index - 1]);
  });
  return { nodes, phaseRanges, indexOf };
}

/** Predecessors of a node: its `after` steps and, through a phase barrier, that phase's steps. */
function predecessors(graph: StepGraph, node: PlanNode): number[] {
  if (node.afterPhase === null) return node.after;
  const [first, last] = graph.phaseRanges[node.afterPhase] as [number, number];
  const phase = Array.from({ length: last - first + 1 }, (_, i) => first + i);
  return [...node.after, ...phase];
}

/** Whether step `ancestor` must be done before step `index` can start. */
export function runsBefore(graph: StepGraph, ancestor: number, index: number): boolean {
  const seen = new Set<number>();
  const stack = [index];
  while (stack.length > 0) {
    const node = graph.nodes[stack.pop() as number] as PlanNode;
    for (const p of predecessors(graph, node)) {
      if (p === ancestor) return true;
      if (!seen.has(p)) {
        seen.add(p);
        stack.push(p);
      }
    }
  }
  return false;
}

/** A cycle as step ids (first repeated at the end), or null. Kahn's algorithm, then a walk of what is left. */
function findCycle(graph: StepGraph): string[] | null {
  const n = graph.nodes.length;
  const preds = graph.nodes.map((node) => predecessors(graph, node));
  const waiting = preds.map((p) => p.length);
  const successors: number[][] = graph.nodes.map(() => []);
  preds.forEach((list, i) => list.forEach((p) => successors[p]?.push(i)));
  const ready = waiting.flatMap((w, i) => (w === 0 ? [i] : []));
  let done = 0;
  while (ready.length > 0) {
    const i = ready.pop() as number;
    done++;
    for (const s of successors[i] ?? []) if (--(waiting[s] as number) === 0) ready.push(s);
  }
  if (done === n) return null;
  // Every node left waits on another node left: walking predecessors must come back to one.
  let at = waiting.findIndex((w) => w > 0);
  const path: number[] = [];
  const onPath = new Map<number, number>();
  while (!onPath.has(at)) {
    onPath.set(at, path.length);
    path.push(at);
    at = (preds[at] as number[]).find((p) => (waiting[p] as number) > 0) as number;
  }
  const cycle = path.slice(onPath.get(at)).reverse();
  return [...cycle, cycle[0] as number].map((i) => graph.nodes[i]?.id as string);
}

function hasItemReference(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(hasItemReference);
  if (typeof value !== 'object' || value === null) return false;
  if ('$item' in value) return true;
  return Object.values(value).some(hasItemReference);
}

/**
 * Where an object in a step's input or `forEach` looks like a reference (it has a `$from` or `$item`
 * key) but is not exactly one: the engine would pass it on as plain data, and the action refuse it.
 */
function malformedReferences(value: unknown, path: PropertyKey[], out: GraphIssue[]): GraphIssue[] {
  if (Array.isArray(value)) value.forEach((v, i) => malformedReferences(v, [...path, i], out));
  else if (typeof value === 'object' && value !== null) {
    if ('$from' in value || '$item' in value) {
      const keys = Object.keys(value);
      const from = (value as { $from?: unknown }).$from;
      const item = (value as { $item?: unknown }).$item;
      const ok =
        keys.length === 1 &&
        ((typeof from === 'string' && from !== '') ||
          item === true ||
          (typeof item === 'string' && item !== ''));
      if (!ok) {
        out.push({
          path,
          message:
            'a reference is exactly { "$from": "<step>.<field>" }, { "$item": true } or { "$item": "<field>" }',
        });
      }
    } else for (const [k, v] of Object.entries(value)) malformedReferences(v, [...path, k], out);
  }
  return out;
}

function fromRefs(value: unknown, path: PropertyKey[], out: Array<{ path: PropertyKey[]; from: string }>) {
  if (Array.isArray(value)) value.forEach((v, i) => fromRefs(v, [...path, i], out));
  else if (typeof value === 'object' && value !== null) {
    const from = (value as { $from?: unknown }).$from;
    if (typeof from === 'string') out.push({ path: [...path, '$from'], from });
    else for (const [k, v] of Object.entries(value)) fromRefs(v, [...path, k], out);
  }
  return out;
}

/** Every rule of the step graph a spec breaks, each with the path of the field. */
export function graphIssues(spec: GraphSpec): GraphIssue[] {
  const issues: GraphIssue[] = [];
  const stepAt = new Map<string, string>();
  const phaseIds = new Set<string>();
  spec.phases.forEach((phase, p) => {
    if (phaseIds.has(phase.id))
      issues.push({ path: ['phases', p, 'id'], message: `duplicate phase id "${phase.id}"` });
    phaseIds.add(phase.id);
    phase.steps.forEach((step, s) => {
      const where = `phases[${p}].steps[${s}]`;
      if (stepAt.has(step.id)) {
        issues.push({
          path: ['phases', p, 'steps', s, 'id'],
          message: `duplicate step id "${step.id}" (also at ${stepAt.get(step.id)})`,
        });
      } else stepAt.set(step.id, where);
    });
  });
  if (issues.length > 0) return issues;

  const graph = stepGraph(spec);
  spec.phases.forEach((phase, p) => {
    phase.steps.forEach((step, s) => {
      const path = ['phases', p, 'steps', s];
      const index = graph.indexOf.get(step.id) as number;
      step.needs?.forEach((id, k) => {
        if (id === step.id)
          issues.push({ path: [...path, 'needs', k], message: 'a step cannot need itself' });
        else if (!graph.indexOf.has(id)) {
          issues.push({ path: [...path, 'needs', k], message: `names no step of this task ("${id}")` });
        }
      });
      malformedReferences(step.input, [...path, 'input'], issues);
      if (step.maxParallel !== undefined && step.forEach === undefined) {
        issues.push({ path: [...path, 'maxParallel'], message: 'applies only to a forEach step' });
      }
      if (step.forEach === undefined && hasItemReference(step.input)) {
        issues.push({ path: [...path, 'input'], message: '$item is only available in a forEach step' });
      }
      if (step.repeat && step.forEach !== undefined) {
        issues.push({
          path: [...path, 'repeat'],
          message: 'a forEach step cannot repeat; repeat a step after it',
        });
      }
      if (step.repeat && step.repeat.times === undefined && spec.category !== 'indefinite') {
        issues.push({
          path: [...path, 'repeat', 'times'],
          message:
            'a step that repeats without "times" never ends: give "times" or mark the task "category": "indefinite"',
        });
      }
      const refs = fromRefs(step.input, [...path, 'input'], []);
      if (step.forEach !== undefined && !Array.isArray(step.forEach))
        fromRefs(step.forEach, [...path, 'forEach'], refs);
      for (const ref of refs) {
        const target = ref.from.split('.')[0] as string;
        const at = graph.indexOf.get(target);
        if (at === undefined) {
          issues.push({ path: ref.path, message: `"${ref.from}" names no step of this task ("${target}")` });
        } else if (at === index) {
          issues.push({ path: ref.path, message: `"${ref.from}": a step cannot read its own output` });
        } else if (!runsBefore(graph, at, index)) {
          issues.push({
            path: ref.path,
            message: `"${ref.from}": step "${target}" does not run before "${step.id}"; add it to "needs" or move it earlier`,
          });
        }
      }
    });
  });
  const cycle = issues.length === 0 ? findCycle(graph) : null;
  if (cycle) {
    const first = graph.nodes[graph.indexOf.get(cycle[0] as string) as number] as PlanNode;
    const phase = spec.phases[first.phaseIndex];
    const s = phase?.steps.findIndex((step) => step.id === first.id) ?? 0;
    issues.push({
      path: ['phases', first.phaseIndex, 'steps', s, 'needs'],
      message: `the steps wait for each other in a cycle: ${cycle.join(' → ')} (a step waits for the steps it needs and, without needs, for the steps before it)`,
    });
  }
  return issues;
}
