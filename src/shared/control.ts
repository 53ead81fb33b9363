/**
 * Steering a task: the control requests (pause, resume, cancel, extend, checkpoint), their payload
 * schemas and the rules that say whether a task in a given state accepts one. Pure, shared by the
 * workflow's update validators, its signal handlers and the client, so every path gives the same answer.
 */
import { z } from 'zod';
import { lazy } from './lazy';
import { isFinishing, type LifecycleState } from './lifecycle';
import { parseDuration } from './duration';
import { issuesOf } from './validation';

/** Longest single extension: a year. */
export const MAX_EXTENSION_MS = 365 * 86_400_000;

export const CONTROL_KINDS = ['pause', 'resume', 'cancel', 'extend', 'checkpoint'] as const;
export type ControlKind = (typeof CONTROL_KINDS)[number];

const reason = () => z.string().trim().max(500, 'must be at most 500 characters');

export const pauseRequestSchema = lazy(() => z.strictObject({ reason: reason().optional() }));
export type PauseRequest = z.input<ReturnType<typeof pauseRequestSchema>>;

export const resumeRequestSchema = lazy(() => z.strictObject({ reason: reason().optional() }));
export type ResumeRequest = z.input<ReturnType<typeof resumeRequestSchema>>;

export const cancelRequestSchema = lazy(() => z.strictObject({ reason: reason().optional() }));
export type CancelRequest = z.input<ReturnType<typeof cancelRequestSchema>>;

export const checkpointRequestSchema = lazy(() =>
  z.strictObject({
    label: z
      .string('must be a string')
      .trim()
      .min(1, 'must not be empty')
      .max(200, 'must be at most 200 characters'),
  })
);
export type CheckpointRequest = z.input<ReturnType<typeof checkpointRequestSchema>>;

export const extendRequestSchema = lazy(() =>
  z
    .strictObject({
      /** How much later the deadline moves: a duration ("2h", "30m") or milliseconds. */
      by: z.union([z.string(), z.number()]).optional(),
      /** The new deadline, ISO 8601 with offset; must be later than the current one. */
      until: z.iso
        .datetime({ offset: true, message: 'must be an ISO 8601 date-time with offset' })
        .optional(),
      /** New hard limits of the task's model budget (each soft threshold keeps its share). */
      budget: z
        .strictObject({
          tokens: z.number().positive('must be above 0').finite().optional(),
          costUsd: z.number().positive('must be above 0').finite().optional(),
          calls: z.number().positive('must be above 0').finite().optional(),
        })
        .refine((b) => Object.keys(b).length > 0, 'give at least one of tokens, costUsd and calls')
        .optional(),
      reason: reason().optional(),
    })
    .superRefine((value, ctx) => {
      const both = value.by !== undefined && value.until !== undefined;
      const neither = value.by === undefined && value.until === undefined && value.budget === undefined;
      if (both || neither) {
        ctx.addIssue({
          code: 'custom',
          message: 'give exactly one of "by" (a duration) and "until" (a date-time), or a "budget" to raise',
        });
      }
      if (value.by !== undefined) {
        try {
          const ms = parseDuration(value.by);
          if (ms > MAX_EXTENSION_MS)
            ctx.addIssue({ code: 'custom', path: ['by'], message: 'must be at most 365 days' });
        } catch (err) {
          ctx.addIssue({ code: 'custom', path: ['by'], message: (err as Error).message });
        }
      }
    })
);
export type ExtendRequest = z.input<ReturnType<typeof extendRequestSchema>>;

export const CONTROL_SCHEMAS = {
  pause: pauseRequestSchema,
  resume: resumeRequestSchema,
  cancel: cancelRequestSchema,
  extend: extendRequestSchema,
  checkpoint: checkpointRequestSchema,
} as const;

/** What the rules need to know about a task. */
export interface ControlView {
  state: LifecycleState;
  /** A pause was accepted and the running step has not stopped yet. */
  pausing: boolean;
  /** A cancel was accepted and the task has not finished stopping yet. */
  cancelling: boolean;
  /** Epoch ms of the task's deadline, or null. */
  deadline: number | null;
  /** The task's phases have a working-time limit (`extend` moves it too). */
  phaseLimit: boolean;
  /** Paused at a limit that is still reached (resume needs an `extend` first): what is reached, else null. */
  limitReached: string | null;
  /** The model budget's hard limits and what is used of each; null when the task has no budget. */
  budget?: Partial<Record<'tokens' | 'costUsd' | 'calls', { used: number; hard: number | null }>> | null;
}

/**
 * Why a task in `view` refuses a `kind` request, or null if it accepts it. Says what the task is
 * doing and, where it helps, what would be accepted instead.
 */
export function controlRejection(
  kind: ControlKind,
  view: ControlView,
  now: number,
  request?: unknown
): string | null {
  const { state } = view;
  if (isFinishing(state)) {
    return `the task is ${state}; ${kind} applies only to a task that is still running or paused`;
  }
  if (view.cancelling && kind !== 'checkpoint')
    return `the task is being cancelled; ${kind} is no longer possible`;
  switch (kind) {
    case 'pause':
      if (state === 'paused') return 'the task is already paused';
      if (view.pausing) return 'the task is already pausing (its running step is saving its cursor)';
      return null;
    case 'resume':
      if (state !== 'paused' && !view.pausing)
        return `the task is ${state}, not paused; only a paused task can be resumed`;
      if (view.limitReached !== null)
        return `the task is paused at its limit (${view.limitReached}); extend it first (e.g. {"by": "2h"}), then resume`;
      return null;
    case 'cancel':
      return null;
    case 'extend': {
      const parsed = extendRequestSchema().safeParse(request ?? {});
      const raise = parsed.success ? parsed.data.budget : undefined;
      for (const [dim, value] of Object.entries(raise ?? {})) {
        const limit = view.budget?.[dim as 'tokens'];
        if (!limit) return `budget.${dim}: the task has no ${dim} budget to raise`;
        if (value <= limit.used) return `budget.${dim}: must be above the ${limit.used} already used`;
      }
      const time = parsed.success && (parsed.data.by !== undefined || parsed.data.until !== undefined);
      if (!time && raise) return null;
      if (view.deadline === null && !view.phaseLimit) return 'the task has no time limit to extend';
      if (parsed.success && parsed.data.until !== undefined) {
        if (view.deadline === null) return 'until: the task has no deadline; extend it by a duration ("by")';
        const until = Date.parse(parsed.data.until);
        if (until <= view.deadline)
          return `until: must be later than the current deadline ${new Date(view.deadline).toISOString()}`;
        if (until <= now) return 'until: must be in the future';
      }
      return null;
    }
    case 'checkpoint':
      if (state === 'created') return 'the task has not started yet; there is nothing to checkpoint';
      return null;
  }
}

/** The new deadline an accepted extend request sets (epoch ms). */
export function extendedDeadline(current: number, request: ExtendRequest): number {
  const parsed = extendRequestSchema().parse(request);
  if (parsed.until !== undefined) return Date.parse(parsed.until);
  return current + parseDuration(parsed.by as string | number);
}

/** Validates a control payload; returns it parsed or a message naming the field and the rule. */
export function parseControl<K extends ControlKind>(
  kind: K,
  payload: unknown
): { ok: true; value: z.output<ReturnType<(typeof CONTROL_SCHEMAS)[K]>> } | { ok: false; message: string } {
  const parsed = CONTROL_SCHEMAS[kind]().safeParse(payload ?? {});
  if (parsed.success)
    return { ok: true, value: parsed.data as z.output<ReturnType<(typeof CONTROL_SCHEMAS)[K]>> };
  const message = issuesOf(parsed.error, '')
    .map((i) => `${i.path === '(root)' ? kind : i.path}: ${i.rule}`)
    .join('; ');
  return { ok: false, message };
}
