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
  /**
   * Fan the analysis out over the root's top-level folders, this many at once (each folder its own
   * sub-step with its own cursor); absent: one analysis step for the whole tree.
   */
  foldersAtOnce?: number;
  /** Files larger than this are listed as skipped. @default 2 MiB (the scan's default) */
  maxFileBytes?: number;
  /** A pause per analyzed file, ms, as for a model call (`longrun dev`'s demo, so progress shows). */
  thinkMsPerFile?: number;
}

/**
 * The task spec of the demo codebase review: scan, analyze (checkpoint per file; one sub-step per
 * top-level folder with `foldersAtOnce`), report.
 */
export function codebaseReviewSpec(opts: CodebaseReviewOptions): TaskSpecInput {
  const audit = {
    ...(opts.auditLog === undefined ? {} : { auditLog: opts.auditLog }),
    ...(opts.thinkMsPerFile === undefined ? {} : { thinkMs: opts.thinkMsPerFile }),
  };
  const fanOut = opts.foldersAtOnce !== undefined;
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
          {
            id: 'scan',
            title: 'List source files',
            action: 'codebase.scan',
            input: {
              root: opts.root,
              ...(fanOut ? { byFolder: true } : {}),
              ...(opts.maxFileBytes === undefined ? {} : { maxFileBytes: opts.maxFileBytes }),
            },
          },
        ],
      },
      {
        id: 'analyze',
        title: 'Analyze files',
        steps: [
          !fanOut
            ? {
                id: 'analyze',
                title: 'Measure each file',
                action: 'codebase.analyze',
                weight: 18,
                input: { root: opts.root, manifest: { $from: 'scan.manifest' }, ...audit },
              }
            : {
                id: 'analyze',
                title: 'Measure each file, folder by folder',
                action: 'codebase.analyze',
                weight: 18,
                forEach: { $from: 'scan.folders' },
                maxParallel: opts.foldersAtOnce,
                input: { root: opts.root, manifest: { $item: 'manifest' }, ...audit },
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
              results: { $from: fanOut ? 'analyze.outputs' : 'analyze.results' },
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
