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
}

export interface StepLimits {
  /** No item progress for this long: the step tells the workflow, which warns. */
  idleWarningMs: number;
  /** No item progress for this long: the workflow checkpoints and pauses the task. */
  idlePauseMs: number;
  /** Per-call limits of `ctx.tool(kind, ...)`. */
  tools: Record<'shell' | 'file' | 'browser' | 'search', number>;
}

export interface StepResult {
  /** Small JSON output, visible to later steps through `$from` references. */
  output: Record<string, unknown>;
  itemsDone?: number;
  itemsTotal?: number;
}

/** The heartbeat payload of a running step: its resume cursor and item progress. */
export interface StepHeartbeat {
  /** null before the first checkpoint (JSON has no undefined). */
  cursor: unknown;
  done: number;
  total: number | null;
  note?: string;
  /** When the step handed these details to the SDK, epoch ms. */
  at?: number;
  /** Items per second over the last minute, or null while unknown. */
  rate?: number | null;
}

/** Item progress a running step reports to its workflow (signal `stepProgress`, every 30 s by default). */
export interface StepProgressReport {
  stepId: string;
  done: number;
  total: number | null;
  note?: string;
  rate: number | null;
  /** Epoch ms, the worker's clock. */
  at: number;
  /**
   * Set when the step's idle level changed: `warning` / `pause` after no item progress for the task's
   * idle limits (heartbeats do not count), `active` once progress resumed after a warning.
   */
  idle?: { level: 'active' | 'warning' | 'pause'; idleMs: number };
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

function isFromReference(value: unknown): value is FromReference {
  return (
    typeof value === 'object' &&
    value !== null &&
    Object.keys(value).length === 1 &&
    typeof (value as { $from?: unknown }).$from === 'string'
  );
}

/**
 * Replaces every `{ "$from": "<stepId>.<field>[.<field>...]" }` in a step input with that value from an
 * earlier step's output. Throws (naming the reference) when the step or field does not exist.
 */
export function resolveStepInput(
  input: Record<string, unknown>,
  outputs: Readonly<Record<string, Record<string, unknown>>>
): Record<string, unknown> {
  const resolve = (value: unknown, where: string): unknown => {
    if (isFromReference(value)) {
      const [stepId, ...fields] = value.$from.split('.');
      const output = stepId === undefined ? undefined : outputs[stepId];
      if (output === undefined) {
        throw new Error(`${where}: $from "${value.$from}" names step "${stepId}", which has no output yet`);
      }
      let current: unknown = output;
      for (const field of fields) {
        if (typeof current !== 'object' || current === null || !(field in current)) {
          throw new Error(`${where}: $from "${value.$from}" has no field "${field}"`);
        }
        current = (current as Record<string, unknown>)[field];
      }
      return current;
    }
    if (Array.isArray(value)) return value.map((v, i) => resolve(v, `${where}[${i}]`));
    if (typeof value === 'object' && value !== null) {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v, `${where}.${k}`)]));
    }
    return value;
  };
  return resolve(input, 'input') as Record<string, unknown>;
}
