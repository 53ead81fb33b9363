/**
 * Failure types that cross the activity/workflow/client boundary as `ApplicationFailure.type`.
 * One place to say "don't retry": activities throw `ApplicationFailure.create({ type, nonRetryable })`.
 */
export const FailureType = {
  /** A step's input failed validation; retrying cannot help. */
  InvalidInput: 'LongrunInvalidInput',
  /** A step names an action no worker has registered. */
  UnknownAction: 'LongrunUnknownAction',
  /** A stored artifact no longer matches its content hash. */
  ArtifactCorrupt: 'LongrunArtifactCorrupt',
  /** A task spec failed validation inside the workflow. */
  InvalidSpec: 'LongrunInvalidSpec',
  /** A step stopped because its worker shuts down; details carry its last heartbeat (cursor). */
  WorkerShutdown: 'WorkerShutdown',
  /** A `longrun.approval` step was rejected (by a person, or by default at its deadline). */
  ApprovalRejected: 'LongrunApprovalRejected',
} as const;
export type FailureType = (typeof FailureType)[keyof typeof FailureType];

/** Failure types the workflow never retries. */
export const NON_RETRYABLE_FAILURE_TYPES: string[] = [
  FailureType.InvalidInput,
  FailureType.UnknownAction,
  FailureType.InvalidSpec,
];
