import { z } from 'zod';
import { DURABILITY_LEVELS } from './durability';

/**
 * The task spec: what a long task is. Versioned by `v` so stored specs stay readable as the format grows.
 * Validated at every edge (client, CLI, workflow); a bad spec names the field and the rule.
 */
const ID = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;
const idRule = 'must start with a letter or digit and contain only letters, digits, ".", "_", ":" or "-"';

export const TaskIdSchema = z.string().min(1).max(200).regex(ID, idRule);

/** Start-to-close limit of one attempt of a step, by class; a spec may override them in `timeouts`. */
export const STEP_TIMEOUT_CLASSES = ['quick', 'standard', 'long'] as const;
export type StepTimeoutClass = (typeof STEP_TIMEOUT_CLASSES)[number];
export const DEFAULT_STEP_TIMEOUTS_MS: Readonly<Record<StepTimeoutClass, number>> = {
  quick: 10 * 60_000,
  standard: 2 * 60 * 60_000,
  long: 24 * 60 * 60_000,
};

/**
 * A built-in step the workflow runs itself as a durable timer: `{ "action": "longrun.wait", "input":
 * { "hours": 2 } }` (also `minutes`, `seconds`). Survives restarts; costs no worker while waiting.
 */
export const WAIT_ACTION = 'longrun.wait';
const WaitInputSchema = z
  .strictObject({
    hours: z.number().nonnegative().optional(),
    minutes: z.number().nonnegative().optional(),
    seconds: z.number().nonnegative().optional(),
  })
  .refine((w) => waitDurationMs(w) > 0, 'must wait a positive time: give hours, minutes or seconds')
  .refine((w) => waitDurationMs(w) <= 366 * 24 * 3_600_000, 'must wait at most 366 days');

export function waitDurationMs(input: { hours?: number; minutes?: number; seconds?: number }): number {
  return Math.round(((input.hours ?? 0) * 3600 + (input.minutes ?? 0) * 60 + (input.seconds ?? 0)) * 1000);
}

export const StepSpecSchema = z.strictObject({
  id: z.string().min(1).max(100).regex(ID, idRule),
  title: z.string().min(1).max(200).optional(),
  /** Name of a registered agent action, e.g. `codebase.analyze`. */
  action: z.string().min(1).max(200),
  /** JSON input for the action; `{ "$from": "<stepId>.<field>" }` takes a value from an earlier step's output. */
  input: z.record(z.string(), z.unknown()).default({}),
  /** Relative share of the task's total progress. @default 1 */
  weight: z.number().positive().max(1_000_000).default(1),
  /** A failing critical step fails the task; a non-critical one may be skipped (recovery). @default true */
  critical: z.boolean().default(true),
  /** A `pre-risky` checkpoint is recorded before a risky step, to roll back to. @default false */
  risky: z.boolean().default(false),
  /** A `milestone` checkpoint is recorded after a milestone step (never pruned). @default false */
  milestone: z.boolean().default(false),
  /** Start-to-close limit class of one attempt. @default "long" */
  timeout: z.enum(STEP_TIMEOUT_CLASSES).default('long'),
});

export const PhaseSpecSchema = z.strictObject({
  id: z.string().min(1).max(100).regex(ID, idRule),
  title: z.string().min(1).max(200).optional(),
  steps: z.array(StepSpecSchema).min(1, 'a phase needs at least one step'),
});

export const TaskSpecSchema = z
  .strictObject({
    v: z.literal(1),
    taskId: TaskIdSchema,
    /** The agent the task belongs to (shown in lists and search attributes). */
    agent: z.string().min(1).max(100).regex(ID, idRule),
    title: z.string().min(1).max(200).optional(),
    /** The instruction the task carries out, for people reading lists and the Web UI. */
    command: z.string().min(1).max(10_000).optional(),
    /** @default "standard" */
    durability: z.enum(DURABILITY_LEVELS).default('standard'),
    /** When the task must end (ISO 8601 with offset); shown in progress. */
    deadline: z.iso.datetime({ offset: true }).optional(),
    /** Start-to-close limits (ms) per timeout class, overriding the defaults. */
    timeouts: z
      .strictObject({
        quick: z.number().int().min(1_000).optional(),
        standard: z.number().int().min(1_000).optional(),
        long: z.number().int().min(1_000).optional(),
      })
      .optional(),
    /** Initial context: read-only JSON every step sees as `ctx.context`. */
    context: z.record(z.string(), z.unknown()).default({}),
    /** Overrides the durability level's heartbeat timeout (ms); the checkpoint interval follows. */
    heartbeatTimeoutMs: z.number().int().min(1_000).max(600_000).optional(),
    phases: z.array(PhaseSpecSchema).min(1, 'a task needs at least one phase'),
  })
  .superRefine((spec, ctx) => {
    const seenSteps = new Map<string, string>();
    const seenPhases = new Set<string>();
    spec.phases.forEach((phase, p) => {
      if (seenPhases.has(phase.id)) {
        ctx.addIssue({
          code: 'custom',
          path: ['phases', p, 'id'],
          message: `duplicate phase id "${phase.id}"`,
        });
      }
      seenPhases.add(phase.id);
      phase.steps.forEach((step, s) => {
        if (step.action === WAIT_ACTION) {
          const wait = WaitInputSchema.safeParse(step.input);
          for (const issue of wait.success ? [] : wait.error.issues) {
            ctx.addIssue({
              code: 'custom',
              path: ['phases', p, 'steps', s, 'input', ...issue.path],
              message: issue.message,
            });
          }
        }
        if (seenSteps.has(step.id)) {
          ctx.addIssue({
            code: 'custom',
            path: ['phases', p, 'steps', s, 'id'],
            message: `duplicate step id "${step.id}" (also at ${seenSteps.get(step.id)})`,
          });
        } else {
          seenSteps.set(step.id, `phases[${p}].steps[${s}]`);
        }
      });
    });
  });

export type TaskSpecInput = z.input<typeof TaskSpecSchema>;
export type TaskSpec = z.output<typeof TaskSpecSchema>;
export type PhaseSpec = TaskSpec['phases'][number];
export type StepSpec = PhaseSpec['steps'][number];

/** Steps in execution order with their phase position. */
export interface PlannedStep {
  phaseIndex: number;
  phase: PhaseSpec;
  /** Position in the whole task, 0-based. */
  index: number;
  step: StepSpec;
}

/** Ids of the steps whose output a later step reads through a `$from` reference. */
export function referencedSteps(spec: TaskSpec): Set<string> {
  const out = new Set<string>();
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(visit);
    else if (typeof value === 'object' && value !== null) {
      const from = (value as { $from?: unknown }).$from;
      if (typeof from === 'string') out.add(from.split('.')[0] as string);
      else Object.values(value).forEach(visit);
    }
  };
  for (const phase of spec.phases) for (const step of phase.steps) visit(step.input);
  return out;
}

export function stepTimeoutMs(spec: TaskSpec, timeout: StepTimeoutClass): number {
  return spec.timeouts?.[timeout] ?? DEFAULT_STEP_TIMEOUTS_MS[timeout];
}

export function flattenSteps(spec: TaskSpec): PlannedStep[] {
  const out: PlannedStep[] = [];
  spec.phases.forEach((phase, phaseIndex) => {
    for (const step of phase.steps) out.push({ phaseIndex, phase, index: out.length, step });
  });
  return out;
}
