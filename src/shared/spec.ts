import { APPROVAL_ACTION, approvalStepInputSchema } from './approvals';
import { budgetSchema } from './budget';
import { z } from 'zod';
import { lazy } from './lazy';
import { durationSchema } from './duration-schema';
import { sizeSchema } from './size-schema';
import { DURABILITY_LEVELS } from './durability';
import { graphIssues } from './graph';
import { DEFAULT_IDLE_MS, DURATION_CATEGORIES, LIMIT_POLICIES, MAX_LIMIT_MS } from './limits';
import { webhookTargetSchema } from './webhooks';

/**
 * The task spec: what a long task is. Versioned by `v` so stored specs stay readable as the format grows.
 * Validated at every edge (client, CLI, workflow); a bad spec names the field and the rule.
 */
const ID = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;
const idRule = 'must start with a letter or digit and contain only letters, digits, ".", "_", ":" or "-"';

export const taskIdSchema = lazy(() => z.string().min(1).max(200).regex(ID, idRule));
const stepIdSchema = lazy(() => z.string().min(1).max(100).regex(ID, idRule));

export { durationSchema };
const limitDuration = () => durationSchema(1_000, MAX_LIMIT_MS);

/** Start-to-close limit of one attempt of a step, by class; a spec may override them in `timeouts`. */
export const STEP_TIMEOUT_CLASSES = ['quick', 'standard', 'long'] as const;
export type StepTimeoutClass = (typeof STEP_TIMEOUT_CLASSES)[number];
export const DEFAULT_STEP_TIMEOUTS_MS: Readonly<Record<StepTimeoutClass, number>> = {
  quick: 10 * 60_000,
  standard: 2 * 60 * 60_000,
  long: 24 * 60 * 60_000,
};

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
const waitInputSchema = lazy(() =>
  z
    .strictObject({
      hours: z.number().nonnegative().optional(),
      minutes: z.number().nonnegative().optional(),
      seconds: z.number().nonnegative().optional(),
    })
    .refine((w) => waitDurationMs(w) > 0, 'must wait a positive time: give hours, minutes or seconds')
    .refine((w) => waitDurationMs(w) <= 366 * 24 * 3_600_000, 'must wait at most 366 days')
);

export function waitDurationMs(input: { hours?: number; minutes?: number; seconds?: number }): number {
  return Math.round(((input.hours ?? 0) * 3600 + (input.minutes ?? 0) * 60 + (input.seconds ?? 0)) * 1000);
}

/** `{ "$from": "<stepId>.<field>..." }`: a value from an earlier step's output. */
export const fromReferenceSchema = lazy(() => z.strictObject({ $from: z.string().min(1) }));

/** Most items a `forEach` may list inline; more belong in an artifact (`{ "$from": ... }`). */
export const MAX_INLINE_ITEMS = 10_000;

export const stepSpecSchema = lazy(() =>
  z.strictObject({
    id: stepIdSchema(),
    title: z.string().min(1).max(200).optional(),
    /** Name of a registered agent action, e.g. `codebase.analyze`. */
    action: z.string().min(1).max(200),
    /**
     * JSON input for the action; `{ "$from": "<stepId>.<field>" }` takes a value from an upstream step's
     * output, `{ "$item": true }` (or `{ "$item": "<field>" }`) the current item of a `forEach` step.
     */
    input: z.record(z.string(), z.unknown()).default({}),
    /**
     * Steps that must complete before this one starts. Absent: the previous step of a sequential phase,
     * or every step of the previous phase (for the first step of a phase and in parallel phases).
     */
    needs: z.array(stepIdSchema()).max(100, 'must list at most 100 steps').optional(),
    /**
     * Fan-out: one sub-step per item, an array or `{ "$from": ... }` of an upstream output (an array, or
     * an artifact holding a JSON array). Each item has its own cursor, retries and progress.
     */
    forEach: z
      .union([
        z.array(z.unknown()).max(MAX_INLINE_ITEMS, `must list at most ${MAX_INLINE_ITEMS} items`),
        fromReferenceSchema(),
      ])
      .optional(),
    /** Sub-steps of a `forEach` step running at once. @default 4 */
    maxParallel: z.number().int().min(1).max(1_000).optional(),
    /**
     * Runs the action again every `every` (a durable timer between rounds), `times` rounds in all, or
     * until the task is cancelled (only in an `indefinite` task).
     */
    repeat: z
      .strictObject({
        every: durationSchema(1_000, MAX_LIMIT_MS),
        times: z.number().int().min(1).max(1_000_000).optional(),
      })
      .optional(),
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
  })
);

export const phaseSpecSchema = lazy(() =>
  z.strictObject({
    id: stepIdSchema(),
    title: z.string().min(1).max(200).optional(),
    /**
     * Runs the phase's steps in parallel, at most this many at once; its steps then wait only for the
     * previous phase (and their `needs`). Absent: the steps run one after another.
     */
    maxParallel: z.number().int().min(1).max(1_000).optional(),
    steps: z.array(stepSpecSchema()).min(1, 'a phase needs at least one step'),
  })
);

export const taskSpecSchema = lazy(() =>
  z
    .strictObject({
      v: z.literal(1),
      taskId: taskIdSchema(),
      /** The agent the task belongs to (shown in lists and search attributes). */
      agent: z.string().min(1).max(100).regex(ID, idRule),
      title: z.string().min(1).max(200).optional(),
      /** The instruction the task carries out, for people reading lists and the Web UI. */
      command: z.string().min(1).max(10_000).optional(),
      /** @default "standard" */
      durability: z.enum(DURABILITY_LEVELS).default('standard'),
      /**
       * How long the task is expected to run; picks the default limits (see `CATEGORY_DEFAULTS`).
       * @default from `estimate`, else "long"
       */
      category: z.enum(DURATION_CATEGORIES).optional(),
      /** The expected duration ("30h", ms): picks the category when none is given. */
      estimate: limitDuration().optional(),
      /** What happens at the deadline or a phase limit. @default "pause" for extended and indefinite tasks, else "stop" */
      onLimit: z.enum(LIMIT_POLICIES).optional(),
      /** When the task must end (ISO 8601 with offset); shown in progress. */
      deadline: z.iso.datetime({ offset: true }).optional(),
      /** Units of work (steps, fan-out sub-steps, waits) running at once in this task. @default 32 */
      maxParallel: z.number().int().min(1).max(1_000).optional(),
      /**
       * Limits, in ms or as text ("12h"), each overriding its default: step attempts by class (`quick`,
       * `standard`, `long`), the task (sets the deadline when none is given), each phase's working time,
       * idle detection and tool calls.
       */
      timeouts: z
        .strictObject({
          quick: limitDuration().optional(),
          standard: limitDuration().optional(),
          long: limitDuration().optional(),
          task: limitDuration().optional(),
          phase: limitDuration().optional(),
          idleWarning: limitDuration().optional(),
          idlePause: limitDuration().optional(),
          tools: z
            .strictObject({
              shell: durationSchema(100, 3_600_000).optional(),
              file: durationSchema(100, 3_600_000).optional(),
              browser: durationSchema(100, 3_600_000).optional(),
              search: durationSchema(100, 3_600_000).optional(),
            })
            .optional(),
          /**
           * Longest quota reset a rate-limited model call waits out on a durable timer (the task shows
           * it waiting, no retry attempt is used); `false`: a rate limit is retried like any transient
           * failure. @default "1h"
           */
          quotaWait: z.union([z.literal(false), durationSchema(1_000, 7 * 86_400_000)]).optional(),
        })
        .optional(),
      /**
       * Webhooks told about this task: POST JSON, signed with the worker's `LONGRUN_WEBHOOK_SECRET`.
       * `events` defaults to all of them.
       */
      webhooks: z.array(webhookTargetSchema()).max(10, 'must list at most 10 webhooks').default([]),
      /** Initial context: read-only JSON every step sees as `ctx.context`. */
      context: z.record(z.string(), z.unknown()).default({}),
      /**
       * Model use the task may spend: `tokens`, `costUsd`, `calls`, each a hard limit (the soft one is
       * 80 % of it) or `{ "soft": n, "hard": n }`. Soft: a warning and a `task.budget` webhook; hard: the
       * task pauses until `extend` raises it.
       */
      budget: budgetSchema().optional(),
      /**
       * A folder the task's steps work in (the same path on every worker): snapshotted at every
       * checkpoint, each file version stored once, and restored exactly on a rollback.
       */
      workspace: z.string().min(1).max(4_096).optional(),
      /**
       * What the task may take of its worker. `essential`: keeps running when a worker under pressure
       * runs only essential tasks (minimal mode); the others wait, cursor saved, until it recovers.
       * `workDisk`: the most a step's work folder may hold (bytes or "500MB"); over it, the step fails as
       * a resource failure (temp folder emptied, retried after a wait).
       */
      resources: z
        .strictObject({
          essential: z.boolean().optional(),
          workDisk: sizeSchema(1_024, 2 ** 50).optional(),
        })
        .optional(),
      /** Overrides the durability level's heartbeat timeout (ms); the checkpoint interval follows. */
      heartbeatTimeoutMs: z.number().int().min(1_000).max(600_000).optional(),
      phases: z.array(phaseSpecSchema()).min(1, 'a task needs at least one phase'),
    })
    .superRefine((spec, ctx) => {
      const idle = spec.timeouts;
      if ((idle?.idleWarning ?? DEFAULT_IDLE_MS.warning) >= (idle?.idlePause ?? DEFAULT_IDLE_MS.pause)) {
        ctx.addIssue({
          code: 'custom',
          path: ['timeouts', 'idleWarning'],
          message: 'idleWarning must be shorter than idlePause',
        });
      }
      spec.phases.forEach((phase, p) => {
        phase.steps.forEach((step, s) => {
          // The steps the workflow runs itself have their input checked before the task starts.
          const schema =
            step.action === WAIT_ACTION
              ? waitInputSchema()
              : step.action === APPROVAL_ACTION
                ? approvalStepInputSchema()
                : null;
          if (!schema) return;
          const checked = schema.safeParse(step.input ?? {});
          for (const issue of checked.success ? [] : checked.error.issues) {
            ctx.addIssue({
              code: 'custom',
              path: ['phases', p, 'steps', s, 'input', ...issue.path],
              message: issue.message,
            });
          }
        });
      });
      for (const issue of graphIssues(spec)) ctx.addIssue({ code: 'custom', ...issue });
    })
);

export type TaskSpecInput = z.input<ReturnType<typeof taskSpecSchema>>;
export type TaskSpec = z.output<ReturnType<typeof taskSpecSchema>>;
export type PhaseSpec = TaskSpec['phases'][number];
export type StepSpec = PhaseSpec['steps'][number];

/** Steps in declaration order with their phase position. */
export interface PlannedStep {
  phaseIndex: number;
  phase: PhaseSpec;
  /** Position in the whole task, 0-based. */
  index: number;
  step: StepSpec;
}

export function flattenSteps(spec: TaskSpec): PlannedStep[] {
  const out: PlannedStep[] = [];
  spec.phases.forEach((phase, phaseIndex) => {
    for (const step of phase.steps) out.push({ phaseIndex, phase, index: out.length, step });
  });
  return out;
}

/** Ids of the steps whose output a step reads through a `$from` reference (in its input or `forEach`). */
export function referencedSteps(spec: TaskSpec): Set<string> {
  const out = new Set<string>();
  for (const phase of spec.phases) {
    for (const step of phase.steps) {
      for (const ref of fromReferences(step)) out.add(ref.stepId);
    }
  }
  return out;
}

/** Every `$from` of a step, where it stands (a path below the step) and the step it names. */
export function fromReferences(step: {
  input: Record<string, unknown>;
  forEach?: unknown;
}): Array<{ path: PropertyKey[]; from: string; stepId: string }> {
  const out: Array<{ path: PropertyKey[]; from: string; stepId: string }> = [];
  const visit = (value: unknown, path: PropertyKey[]): void => {
    if (Array.isArray(value)) value.forEach((v, i) => visit(v, [...path, i]));
    else if (typeof value === 'object' && value !== null) {
      const from = (value as { $from?: unknown }).$from;
      if (typeof from === 'string') out.push({ path, from, stepId: from.split('.')[0] as string });
      else for (const [k, v] of Object.entries(value)) visit(v, [...path, k]);
    }
  };
  visit(step.input, ['input']);
  if (step.forEach !== undefined && !Array.isArray(step.forEach)) visit(step.forEach, ['forEach']);
  return out;
}

export function stepTimeoutMs(spec: TaskSpec, timeout: StepTimeoutClass): number {
  return spec.timeouts?.[timeout] ?? DEFAULT_STEP_TIMEOUTS_MS[timeout];
}

/** Longest quota reset a model call waits out unless its task says otherwise: 1 hour. */
export const DEFAULT_QUOTA_WAIT_MS = 3_600_000;

/** The task's longest quota wait, ms; 0 when it waits for none (`quotaWait: false`). */
export function quotaWaitOf(spec: TaskSpec): number {
  const wait = spec.timeouts?.quotaWait;
  return wait === false ? 0 : (wait ?? DEFAULT_QUOTA_WAIT_MS);
}

export function toolTimeoutsOf(spec: TaskSpec): Record<ToolClass, number> {
  return { ...DEFAULT_TOOL_TIMEOUTS_MS, ...spec.timeouts?.tools };
}
