/** The codebase review agent: scan a folder, analyze each file with per-file checkpoints, write a report. */
import { analyzeAction } from './analyze';
import { reportAction } from './report';
import { scanAction } from './scan';

export const codebaseReviewActions = [scanAction, analyzeAction, reportAction];
export { analyzeSource } from './analysis';
export type { SourceMetrics } from './analysis';
export type { FileAnalysis, AnalysisTotals } from './analyze';
export type { Manifest, ManifestEntry } from './scan';
export { renderReport } from './report';
