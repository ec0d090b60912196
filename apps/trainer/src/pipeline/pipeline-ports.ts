import type { JobStatusView } from '@sepal/contracts';
import type { DataClient, DatasetVersionInfo } from '../clients/data-client';
import type { RegistryClient } from '../clients/registry-client';
import type { RunReporter } from '../jobs/run-reporter';
import type { JobPlan } from '../sweep/job-plan';
import type { BackendName } from '../training/tf-backend';

/** What the steps read from the data service (DataClient in the app, an in-memory fake in specs). */
export type DatasetReader = Pick<DataClient, 'version' | 'rows'> & Partial<Pick<DataClient, 'images'>>;

/** The data service's frozen evaluation sets, which the gate decides on (DataClient in the app, a fake in specs). */
export type EvaluationSets = Pick<DataClient, 'evaluationSet' | 'evaluationRows'>;

/** What the steps ask of the registry (RegistryClient in the app, an in-memory fake in specs). */
export type ModelRegistry = Pick<
  RegistryClient,
  'uploadArtifact' | 'registerVersion' | 'champion' | 'downloadArtifact' | 'setAlias' | 'gate'
>;

/** Applies a change to the job's status view (GET /jobs/:id). */
export type TrackJob = (change: (job: JobStatusView) => void) => void;

/** What is known of a job when its parent run is opened; the plan and version are missing when they were refused. */
export interface RunFacts {
  plan: JobPlan | undefined;
  version: DatasetVersionInfo | undefined;
  backend: BackendName;
}

/**
 * Opens the job's parent run (training.started) and answers the reporter of its events and its trials'. The job
 * runner owns the run: it records the job's failure on it if a step fails after it was opened.
 */
export interface RunOpener {
  open(facts: RunFacts): Promise<RunReporter>;
}
