import type { DurabilityLevel } from './durability';
import type { TaskSpecInput } from './spec';

export interface CodebaseReviewOptions {
  taskId: string;
  /** Folder to review (resolved against the worker's working directory). */
  root: string;
  title?: string;
  durability?: DurabilityLevel;
  heartbeatTimeoutMs?: number;
  /** Append-only JSONL log of every file analysis, see the `codebase.analyze` action. */
  auditLog?: string;
}

/** The task spec of the demo codebase review: scan, analyze (checkpoint per file), report. */
export function codebaseReviewSpec(opts: CodebaseReviewOptions): TaskSpecInput {
  return {
    v: 1,
    taskId: opts.taskId,
    agent: 'codebase-review',
    title: opts.title ?? `Codebase review of ${opts.root}`,
    durability: opts.durability ?? 'standard',
    ...(opts.heartbeatTimeoutMs === undefined ? {} : { heartbeatTimeoutMs: opts.heartbeatTimeoutMs }),
    phases: [
      {
        id: 'discover',
        title: 'Discover files',
        steps: [
          { id: 'scan', title: 'List source files', action: 'codebase.scan', input: { root: opts.root } },
        ],
      },
      {
        id: 'analyze',
        title: 'Analyze files',
        steps: [
          {
            id: 'analyze',
            title: 'Measure each file',
            action: 'codebase.analyze',
            weight: 18,
            input: {
              root: opts.root,
              manifest: { $from: 'scan.manifest' },
              ...(opts.auditLog === undefined ? {} : { auditLog: opts.auditLog }),
            },
          },
        ],
      },
      {
        id: 'report',
        title: 'Write report',
        steps: [
          {
            id: 'report',
            title: 'Render Markdown report',
            action: 'codebase.report',
            input: {
              title: opts.title ?? 'Codebase review',
              root: opts.root,
              results: { $from: 'analyze.results' },
            },
          },
        ],
      },
    ],
  };
}

export interface DatasetOptions {
  taskId: string;
  /** JSONL file (resolved against the worker's working directory). */
  path: string;
  groupBy?: string;
  sumField?: string;
  batchSize?: number;
  durability?: DurabilityLevel;
  heartbeatTimeoutMs?: number;
}

/** The task spec of the dataset processor demo: one streaming aggregation step. */
export function datasetSpec(opts: DatasetOptions): TaskSpecInput {
  return {
    v: 1,
    taskId: opts.taskId,
    agent: 'dataset',
    title: `Aggregate ${opts.path}`,
    durability: opts.durability ?? 'standard',
    ...(opts.heartbeatTimeoutMs === undefined ? {} : { heartbeatTimeoutMs: opts.heartbeatTimeoutMs }),
    phases: [
      {
        id: 'aggregate',
        title: 'Aggregate records',
        steps: [
          {
            id: 'process',
            title: `Group by ${opts.groupBy ?? 'category'}`,
            action: 'dataset.process',
            input: {
              path: opts.path,
              ...(opts.groupBy === undefined ? {} : { groupBy: opts.groupBy }),
              ...(opts.sumField === undefined ? {} : { sumField: opts.sumField }),
              ...(opts.batchSize === undefined ? {} : { batchSize: opts.batchSize }),
            },
          },
        ],
      },
    ],
  };
}
