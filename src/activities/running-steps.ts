/**
 * The steps running in this process, by work folder: what the metrics show (checkpoint age per running
 * step) and what the temp-folder cleaner leaves alone. Process-wide, like the circuit breakers.
 */
export interface RunningStep {
  taskId: string;
  stepId: string;
  item: number | null;
  /** When this attempt started, epoch ms. */
  startedAt: number;
  /** When the step last saved a cursor (`ctx.checkpoint`), epoch ms; its start until then. */
  checkpointAt: number;
}

export const runningSteps = new Map<string, RunningStep>();
