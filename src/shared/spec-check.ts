/**
 * Every check of a task spec that needs no server and no worker: JSON only, the schema (unknown keys
 * anywhere are refused), the step graph and references, the size Temporal accepts, a deadline still
 * ahead. The client runs it before it connects, so a bad spec never starts a task.
 */
import { taskSpecSchema, type TaskSpec } from './spec';
import { jsonIssues, parseOrThrow, ValidationError } from './validation';

/** Largest spec accepted: its JSON travels in the workflow's input (Temporal limits a payload to 2 MB). */
export const MAX_SPEC_BYTES = 1024 * 1024;

export function checkSpec(specInput: unknown, now = Date.now()): TaskSpec {
  const notJson = jsonIssues(specInput, 'spec');
  if (notJson.length > 0) throw new ValidationError('task spec', notJson);
  const spec = parseOrThrow(taskSpecSchema(), specInput, 'task spec', 'spec');
  const bytes = new TextEncoder().encode(JSON.stringify(specInput)).length;
  if (bytes > MAX_SPEC_BYTES) {
    throw new ValidationError('task spec', [
      {
        path: 'spec',
        rule: `must serialize to at most ${MAX_SPEC_BYTES} bytes (is ${bytes}): Temporal limits a payload to 2 MB; store big inputs as artifacts or iterate items inside one step`,
      },
    ]);
  }
  if (spec.deadline !== undefined && Date.parse(spec.deadline) <= now) {
    throw new ValidationError('task spec', [
      { path: 'spec.deadline', rule: `must be in the future (it is ${spec.deadline})` },
    ]);
  }
  return spec;
}
