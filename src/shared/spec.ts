import { z } from 'zod';
import { DURABILITY_LEVELS } from './durability';
import { WebhookTargetSchema } from './webhooks';

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
 * Limits of a task (seed 001 defaults). The task limit sets the deadline when the spec gives none (a
 * spec that needs more than `TASK_LIMIT_MAX_MS` says so with an explicit `deadline`); the phase limit
 * counts the phase's working time (paused time and `longrun.wait` timers excluded). Idle: no item
 * progress for `idleWarning` → warning; for `idlePause` → checkpoint and pause. Heartbeats do not count.
 */
export const DEFAULT_LIMITS_MS = {
  task: 60 * 60_000,
  phase: 10 * 60_000,
  idleWarning: 5 * 60_000,
  idlePause: 15 * 60_000,
} as const;
export const TASK_LIMIT_MAX_MS = 4 * 60 * 60_000;
export const PHASE_LIMIT_MAX_MS = 30 * 60_000;
/** A warning is logged (and sent to webhooks) when this share of a limit is used. */
export const LIMIT_WARNING_SHARE = 0.75;

/** Per-call limits of tool classes (`ctx.tool(kind, fn)` in a step), ms. */
export const TOOL_CLASSES = ['shell', 'file', 'browser', 'search'] as const;
export type ToolClass = (typeof TOOL_CLASSES)[number];
export const DEFAULT_TOOL_TIMEOUTS_MS: Readonly<Record<ToolClass, number>> = {
  shell: 30_000,
  file: 10_000,
  browser: 30_000,
  search: 60_000,
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
    /**
     * Limits in ms, each overriding its default: step attempts by class (`quick`, `standard`, `long`),
     * the task (sets the deadline when none is given), each phase, idle detection and tool calls.
     */
    timeouts: z
      .strictObject({
        quick: z.number().int().min(1_000).optional(),
        standard: z.number().int().min(1_000).optional(),
        long: z.number().int().min(1_000).optional(),
        task: z
          .number()
          .int()
          .min(1_000)
          .max(TASK_LIMIT_MAX_MS, 'must be at most 4 hours (14400000); give a `deadline` for a longer task')
          .optional(),
        phase: z
          .number()
          .int()
          .min(1_000)
          .max(PHASE_LIMIT_MAX_MS, 'must be at most 30 minutes (1800000)')
          .optional(),
        idleWarning: z.number().int().min(1_000).optional(),
        idlePause: z.number().int().min(1_000).optional(),
        tools: z
          .strictObject({
            shell: z.number().int().min(100).max(3_600_000).optional(),
            file: z.number().int().min(100).max(3_600_000).optional(),
            browser: z.number().int().min(100).max(3_600_000).optional(),
            search: z.number().int().min(100).max(3_600_000).optional(),
          })
          .optional(),
      })
      .refine(
        (t) =>
          (t.idleWarning ?? DEFAULT_LIMITS_MS.idleWarning) < (t.idlePause ?? DEFAULT_LIMITS_MS.idlePause),
        { message: 'idleWarning must be shorter than idlePause', path: ['idleWarning'] }
      )
      .optional(),
    /**
     * Webhooks told about this task: POST JSON, signed with the worker's `LONGRUN_WEBHOOK_SECRET`.
     * `events` defaults to all of them.
     */
    webhooks: z.array(WebhookTargetSchema).max(10, 'must list at most 10 webhooks').default([]),
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

/** The effective limits of a task, ms (spec values over the defaults). */
export function limitsOf(spec: TaskSpec): {
  task: number;
  phase: number;
  idleWarning: number;
  idlePause: number;
  tools: Record<ToolClass, number>;
} {
  const t = spec.timeouts;
  return {
    task: t?.task ?? DEFAULT_LIMITS_MS.task,
    phase: t?.phase ?? DEFAULT_LIMITS_MS.phase,
    idleWarning: t?.idleWarning ?? DEFAULT_LIMITS_MS.idleWarning,
    idlePause: t?.idlePause ?? DEFAULT_LIMITS_MS.idlePause,
    tools: { ...DEFAULT_TOOL_TIMEOUTS_MS, ...t?.tools },
  };
}

export function flattenSteps(spec: TaskSpec): PlannedStep[] {
  const out: PlannedStep[] = [];
  spec.phases.forEach((phase, phaseIndex) => {
    for (const step of phase.steps) out.push({ phaseIndex, phase, index: out.length, step });
  });
  return out;
}
