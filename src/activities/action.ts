import type { z } from 'zod';
import type { StepContext } from './step-context';
import type { ChildLimits } from './child-process';

/**
 * An agent action: a named unit of agent work that a task step runs. Its input is validated with the
 * schema before `run` is called; its output must be small JSON (store big data as artifacts).
 */
export interface AgentAction<S extends z.ZodType = z.ZodType> {
  name: string;
  description: string;
  input: S;
  run(ctx: StepContext, input: z.output<S>): Promise<Record<string, unknown>>;
  /** Caps of the commands the action runs with `ctx.exec` (memory MB, CPU seconds); a call may override them. */
  limits?: ChildLimits;
}

/** Declares an action with its input type inferred from the schema. */
export function defineAction<S extends z.ZodType>(action: AgentAction<S>): AgentAction<S> {
  return action;
}

export type ActionRegistry = ReadonlyMap<string, AgentAction>;

export function actionRegistry(actions: readonly AgentAction[]): ActionRegistry {
  const map = new Map<string, AgentAction>();
  for (const action of actions) {
    if (map.has(action.name)) throw new Error(`action "${action.name}" is registered twice`);
    map.set(action.name, action);
  }
  return map;
}
