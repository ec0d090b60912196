/** The services' answers as the console reads them (see libs/contracts for the full definitions). */
export interface RunView {
  id: string;
  experiment: string;
  parentRunId: string | null;
  name: string | null;
  status: string;
  startTime: string;
  endTime: string | null;
  params: Record<string, string | number | boolean>;
  tags: Record<string, string>;
  dataset: string | null;
  datasetVersion: string | null;
  metrics: Record<string, number>;
  childrenCount: number;
  error: string | null;
}
export interface RunPage {
  runs: RunView[];
  nextPageToken: string | null;
}
export interface ModelVersionView {
  name: string;
  version: number;
  runId: string | null;
  sha256: string;
  metrics: Record<string, number>;
  createdAt: string;
  description: string | null;
}
export interface ModelView {
  name: string;
  description: string | null;
  versions: ModelVersionView[];
  aliases: Record<string, number>;
  createdAt: string;
}
export interface ModelSummaryView {
  name: string;
  latestVersion: number | null;
  aliases: Record<string, number>;
}
export interface AuditEntry {
  id: number;
  alias: string;
  fromVersion: number | null;
  toVersion: number;
  by: string;
  reason: string;
  at: string;
}
export interface LineageView {
  model: string;
  version: number;
  sha256: string;
  run: RunView | null;
  parentRun: RunView | null;
  dataset: string | null;
  datasetVersion: string | null;
}
export interface JobStepView {
  step: string;
  title: string;
  state: string;
  attempt: number;
  summary: Record<string, string | number | boolean | null>;
  error: string | null;
}
export interface JobView {
  id: string;
  state: string;
  dataset: string;
  datasetVersion: string | null;
  reason: string;
  requestedBy: string | null;
  attempt: number;
  parentRunId: string | null;
  modelName: string | null;
  modelVersion: number | null;
  createdAt: string;
  error: string | null;
  steps: JobStepView[];
}
export interface DatasetSummary {
  name: string;
  description: string;
  imported: boolean;
  versionCount: number;
  latestVersion: string | null;
}
export interface DatasetVersion {
  id: string;
  dataset: string;
  seq: number;
  parentId: string | null;
  reason: string;
  schema: { features: string[]; target: string; task: string; labels: string[] };
  rowCount: number;
  trainRows: number;
  testRows: number;
  classCounts: { train: Record<string, number>; test: Record<string, number> };
  cleaningRules: {
    id: string;
    row: number;
    changes: { feature: string; from: unknown; to: unknown }[];
    reference: string;
  }[];
  createdAt: string;
}
export interface TrafficView {
  available: boolean;
  error: string | null;
  sampledAt: string | null;
  windowSeconds: number;
  requestsPerSecond: number;
  p99Ms: number | null;
  requests: number;
  errors: number;
  models: {
    model: string;
    version: string | null;
    predictionsPerClass: Record<string, number>;
    rowsPerSecond: number;
  }[];
  history: { at: number; requestsPerSecond: number }[];
}
export const TERMINAL = ['succeeded', 'failed', 'cancelled'];
