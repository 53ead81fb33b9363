import { z } from 'zod';
import { lazy } from './lazy';
import { issuesOf } from './validation';
import type { ModelUsage } from './model-usage';
import type { StepBudget } from './budget';
import type { ApprovalDecision, ApprovalRequest } from './approvals';

/**
 * What crosses between the workflow and the `runStep` activity. Kept small: large data lives in the
 * artifact store and travels as an `ArtifactRef`.
 */
export interface StepRequest {
  taskId: string;
  phaseId: string;
  stepId: string;
  action: string;
  /** The step's input with every `$from` reference already resolved. */
  input: Record<string, unknown>;
  /** Where a previously stopped schedule of this step left off (heartbeat details cover retries). */
  cursor?: unknown;
  /** The task's initial context (read-only). */
  context?: Record<string, unknown>;
  /** Back artifacts up and verify them on read (high durability). */
  artifactBackup?: boolean;
  /** Idle detection and tool-call limits of the task, ms (absent in requests of older tasks). */
  limits?: StepLimits;
  /** A `forEach` sub-step: its item's index, and whether its output is kept for the steps after it. */
  item?: { index: number; keepOutput: boolean };
  /** The round of a repeating step, 0 for the first. */
  round?: number;
  /** The step was stopped and runs again: it reports its progress at once (the task shows `resuming` until then). */
  resumed?: boolean;
  /** The model calls a stopped schedule of this step made since its cursor, for this one to reuse. */
  model?: ModelJournal;
  /** What the task's budget had left when this schedule started: its model calls stop there. */
  budget?: StepBudget;
  /** Answers to the approvals this unit asked for, by request id. */
  approvals?: Record<string, ApprovalDecision>;
}

/**
 * The model calls a step made since its last checkpoint: the newest link of a chain in the artifact
 * store (each link names one call record and the link before it). A retry or a resumed schedule
 * answers the same requests from these records instead of paying for them again.
 */
export interface ModelJournal {
  /** SHA-256 of the newest link, or null before the first call. */
  head: string | null;
  /** Calls in the chain. */
  n: number;
}

/** What a step gives later steps: small JSON (large data goes to the artifact store, by reference). */
export type StepOutput = Record<string, unknown>;

export interface StepLimits {
  /** No item progress for this long: the step tells the workflow, which warns. */
  idleWarningMs: number;
  /** No item progress for this long: the workflow checkpoints and pauses the task. */
  idlePauseMs: number;
  /** Per-call limits of `ctx.tool(kind, ...)`. */
  tools: Record<'shell' | 'file' | 'browser' | 'search', number>;
  /** Longest quota reset `ctx.model.chat` waits out on a durable timer; 0: never wait (retry instead). */
  quotaWaitMs?: number;
  /** The task keeps running when its worker runs only essential tasks (minimal mode). */
  essential?: boolean;
  /** The most the step's work folder may hold, bytes. */
  workDiskBytes?: number;
}

export interface StepResult {
  /** Small JSON output, visible to later steps through `$from` references. */
  output: StepOutput;
  /**
   * The action asked to run again later (`ctx.resumeAfter`): the workflow waits `ms` on a durable
   * timer, holding no worker, then schedules the step again from `cursor`.
   */
  resumeAfter?: {
    ms: number;
    cursor: unknown;
    done: number;
    total: number | null;
    /**
     * Why it waits: `quota` when a provider's quota resets then (a rate limit, not a failure);
     * `resources` when its worker runs only essential tasks (minimal mode).
     */
    reason?: 'quota' | 'resources';
    /** A line for the task's log (why the worker sent it away). */
    note?: string;
    model?: ModelJournal;
  };
  /**
   * The action asked to pause the task (`ctx.pauseTask`): the workflow pauses it with `reason` and
   * keeps the step stopped at `cursor` until it is resumed.
   */
  pause?: { reason: string; cursor: unknown; done: number; total: number | null; model?: ModelJournal };
  /**
   * The action asked a person (`ctx.requestApproval`): the workflow waits for the answer or the
   * deadline, then schedules the step again from `cursor` with the answer.
   */
  approval?: {
    request: ApprovalRequest;
    cursor: unknown;
    done: number;
    total: number | null;
    model?: ModelJournal;
  };
  /** What this schedule's model calls used, every attempt counted. */
  usage?: ModelUsage;
}

/** The heartbeat payload of a running step: its resume cursor and item progress. */
export interface StepHeartbeat {
  /** Which step (and fan-out item) beats, so a reader of several pending activities can tell them apart. */
  stepId?: string;
  item?: number;
  /** null before the first checkpoint (JSON has no undefined). */
  cursor: unknown;
  done: number;
  total: number | null;
  note?: string;
  /** When the step handed these details to the SDK, epoch ms. */
  at?: number;
  /** Items per second over the last minute, or null while unknown. */
  rate?: number | null;
  /** Counts every change of these details, so the newest of two copies is known. */
  seq?: number;
  /** The step's model calls since its cursor and what this schedule's calls used (every attempt). */
  model?: { journal: ModelJournal; usage: ModelUsage };
}

/** Item progress a running step reports to its workflow (signal `stepProgress`, every 30 s by default). */
const finite = () => z.number().finite();
const count = () => finite().nonnegative();
const modelUsageSchema = lazy(
  () =>
    z.object({
      calls: count(),
      reused: count(),
      promptTokens: count(),
      completionTokens: count(),
      cachedTokens: count(),
      costUsd: count(),
      estimatedCalls: count(),
      unpricedCalls: count(),
      latencyMs: count(),
    }) satisfies z.ZodType<ModelUsage>
);
/** A step's progress note is cut to this length in reports. */
export const MAX_NOTE_CHARS = 1_000;

/**
 * What a running step reports to its workflow (the `stepProgress` signal). Anyone with access to the
 * namespace can send this signal, so the workflow checks it against this schema before using it.
 */
export const stepProgressReportSchema = lazy(() =>
  z.object({
    stepId: z.string().min(1).max(200),
    /** The fan-out item reporting, for a `forEach` sub-step. */
    item: count().int().optional(),
    /** Sent once when a resumed step has started again. */
    started: z.boolean().optional(),
    done: count(),
    total: count().nullable(),
    note: z.string().max(MAX_NOTE_CHARS).optional(),
    rate: finite().nonnegative().nullable(),
    /** Epoch ms, the worker's clock. */
    at: count(),
    /**
     * Set when the step's idle level changed: `warning` / `pause` after no item progress for the task's
     * idle limits (heartbeats do not count), `active` once progress resumed after a warning.
     */
    idle: z.object({ level: z.enum(['active', 'warning', 'pause']), idleMs: count() }).optional(),
    /** What this schedule's model calls used so far. */
    usage: modelUsageSchema().optional(),
  })
);
export type StepProgressReport = z.output<ReturnType<typeof stepProgressReportSchema>>;

/** The report, or why it is refused (field and rule). */
export function parseStepProgress(
  value: unknown
): { ok: true; report: StepProgressReport } | { ok: false; why: string } {
  const parsed = stepProgressReportSchema().safeParse(value);
  if (parsed.success) return { ok: true, report: parsed.data };
  return {
    ok: false,
    why: issuesOf(parsed.error)
      .map((i) => `${i.path}: ${i.rule}`)
      .join('; '),
  };
}

/** A stored blob, addressed by the SHA-256 of its content. */
export interface ArtifactRef {
  sha256: string;
  bytes: number;
  name: string;
  mediaType: string;
}

export function isStepHeartbeat(value: unknown): value is StepHeartbeat {
  return (
    typeof value === 'object' && value !== null && typeof (value as { done?: unknown }).done === 'number'
  );
}

export interface FromReference {
  $from: string;
}

/** The current item of a `forEach` sub-step: its value, or where a worker reads it from an artifact. */
export type CurrentItem = { index: number; value: unknown } | { index: number; artifact: ArtifactRef };

/**
 * Marker a worker replaces before an action sees its input: the item at `index` (then the `path` in it)
 * of the JSON array stored in artifact `ref`.
 */
export interface ArtifactItemMarker {
  $artifactItem: { ref: ArtifactRef; index: number; path: string[] };
}

/** Marker a worker replaces with the JSON content of an artifact (large fan-in outputs). */
export interface ArtifactContentMarker {
  $artifact: ArtifactRef;
}

function pathValue(value: unknown, fields: readonly string[], what: string, where: string): unknown {
  let current = value;
  for (const field of fields) {
    if (typeof current !== 'object' || current === null || !(field in current)) {
      throw new Error(`${where}: ${what} has no field "${field}"`);
    }
    current = (current as Record<string, unknown>)[field];
  }
  return current;
}

function isReference(value: unknown, key: '$from' | '$item'): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.keys(value).length === 1 &&
    key in value
  );
}

/**
 * Replaces every `{ "$from": "<stepId>.<field>[.<field>...]" }` in a step input with that value from an
 * earlier step's output, and every `{ "$item": true }` / `{ "$item": "<field>.<field>" }` with the
 * current item of a fan-out (or a marker the worker resolves, when the items live in an artifact).
 * Throws (naming the reference) when the step or field does not exist.
 */
export function resolveStepInput(
  input: Record<string, unknown>,
  outputs: Readonly<Record<string, StepOutput>>,
  item?: CurrentItem
): Record<string, unknown> {
  const resolve = (value: unknown, where: string): unknown => {
    if (isReference(value, '$from') && typeof (value as FromReference).$from === 'string') {
      const from = (value as FromReference).$from;
      const [stepId, ...fields] = from.split('.');
      const output = stepId === undefined ? undefined : outputs[stepId];
      if (output === undefined) {
        throw new Error(`${where}: $from "${from}" names step "${stepId}", which has no output yet`);
      }
      return pathValue(output, fields, `$from "${from}"`, where);
    }
    if (isReference(value, '$item')) {
      if (!item) throw new Error(`${where}: $item is only available in a forEach step`);
      const spec = (value as { $item: unknown }).$item;
      const fields = typeof spec === 'string' && spec !== '' ? spec.split('.') : [];
      if ('artifact' in item) {
        const marker: ArtifactItemMarker = {
          $artifactItem: { ref: item.artifact, index: item.index, path: fields },
        };
        return marker;
      }
      return pathValue(item.value, fields, `item ${item.index}`, where);
    }
    if (Array.isArray(value)) return value.map((v, i) => resolve(v, `${where}[${i}]`));
    if (typeof value === 'object' && value !== null) {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v, `${where}.${k}`)]));
    }
    return value;
  };
  return resolve(input, 'input') as Record<string, unknown>;
}

/** The value a `forEach` names: its inline array, or the upstream output its `$from` points at. */
export function resolveForEach(
  forEach: readonly unknown[] | FromReference,
  outputs: Readonly<Record<string, StepOutput>>
): unknown {
  if (Array.isArray(forEach)) return forEach;
  return resolveStepInput({ forEach }, outputs).forEach;
}

/** Whether a value is an artifact reference (as `ctx.artifacts.put` returns it). */
export function isArtifactRef(value: unknown): value is ArtifactRef {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Partial<ArtifactRef>;
  return typeof v.sha256 === 'string' && typeof v.bytes === 'number' && typeof v.mediaType === 'string';
}
