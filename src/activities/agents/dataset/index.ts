/** The dataset processor agent: stream a large JSONL file and aggregate it, checkpointing by byte offset. */
import { processDatasetAction } from './process';

export const datasetActions = [processDatasetAction];
export { emptyAggregates, foldLine } from './aggregate';
export type { Aggregates, GroupStats } from './aggregate';
export type { DatasetCursor } from './process';
