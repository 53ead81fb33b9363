/** What client calls throw besides the SDK's own errors and `ValidationError`. */
/** Thrown by client calls that name a task id no task has. */
export class UnknownTaskError extends Error {
  override readonly name = 'UnknownTaskError';
  constructor(readonly taskId: string) {
    super(`unknown task "${taskId}": no task with this id exists in the namespace`);
  }
}

/** Thrown by `rollback` when the task has no checkpoint with the given id. */
export class UnknownCheckpointError extends Error {
  override readonly name = 'UnknownCheckpointError';
  constructor(
    readonly taskId: string,
    readonly checkpointId: string,
    readonly available: string[]
  ) {
    super(
      `task "${taskId}" has no checkpoint "${checkpointId}"; it has: ${available.length ? available.join(', ') : 'none'}`
    );
  }
}

/** Thrown when a task refuses a request (an update's validator or handler rejected it); says why. */
export class TaskRequestRejectedError extends Error {
  override readonly name: string = 'TaskRequestRejectedError';
  constructor(
    readonly taskId: string,
    readonly request: string,
    readonly reason: string
  ) {
    super(`task "${taskId}" rejected ${request}: ${reason}`);
  }
}

/**
 * A control request the task's current state does not allow (resume a running task, pause a finished
 * one, ...). Nothing changed. `reason` says what the task is doing.
 */
export class InvalidTransitionError extends TaskRequestRejectedError {
  override readonly name: string = 'InvalidTransitionError';
}
