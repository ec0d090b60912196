/*
 * The services' answers as the console reads them: the declarations in libs/contracts (and the console server's
 * traffic view) themselves, imported as types only (erased by Vite: nothing of libs/ reaches the bundle).
 */
export type {
  AliasAuditEntry as AuditEntry,
  LineageView,
  ModelSummaryView,
  ModelVersionView,
  ModelView,
  RunPage,
  RunView,
} from '../../../../libs/contracts/src/http/registry.dto';
export type { JobStepView, JobView } from '../../../../libs/contracts/src/jobs/jobs.dto';
export type { BatchJobView } from '../../../../libs/contracts/src/jobs/batch-jobs.dto';
export type {
  DatasetSummaryView as DatasetSummary,
  DatasetVersionView as DatasetVersion,
} from '../../../../libs/contracts/src/http/data.dto';
export type {
  LiveQualityView,
  PredictionLogEntry,
  PredictionLogPage as PredictionLogPageView,
} from '../../../../libs/contracts/src/http/prediction-log.dto';
export type { ModelDriftView } from '../../../../libs/contracts/src/http/inference.dto';
export type { TrafficView } from '../../src/traffic/traffic';
export const TERMINAL = ['succeeded', 'failed', 'cancelled'];
