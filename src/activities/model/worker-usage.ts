/**
 * What this process's model calls used, by model, every billed call counted the moment its answer
 * arrives (before it is recorded): the metrics' model usage. Process-wide, like the circuit breakers.
 */
import { addUsage, emptyUsage, type ModelUsage } from '../../shared/model-usage';

export const workerModelUsage = new Map<string, ModelUsage>();

export function countWorkerCall(model: string, used: ModelUsage): void {
  workerModelUsage.set(model, addUsage(workerModelUsage.get(model) ?? emptyUsage(), used));
}
