import { z } from 'zod';
import { JobKind, jobKind, JobStateName, JobStepId, JobStepState, jobState } from './job-steps';

export interface JobStepView {
  step: JobStepId;
  title: string;
  state: JobStepState;
  attempt: number;
  startedAt: string | null;
  endedAt: string | null;
  worker: string | null;
  summary: Record<string, string | number | boolean | null>;
  error: string | null;
}

/** GET /jobs/:id (registry; the trainer forwards): the durable record of a training job and its steps. */
export interface JobView {
  id: string;
  /** train (train.requested) or batch (a batch scoring job, POST /batch-jobs). */
  kind: JobKind;
  state: JobStateName;
  dataset: string;
  datasetVersion: string | null;
  reason: string;
  requestedBy: string | null;
  correlationId: string;
  attempt: number;
  parentRunId: string | null;
  modelName: string | null;
  modelVersion: number | null;
  /** The train.requested payload, as asked. */
  request: Record<string, unknown>;
  createdAt: string;
  startedAt: string | null;
  endedAt: string | null;
  error: string | null;
  cancelRequested: boolean;
  steps: JobStepView[];
}

export interface JobListView {
  jobs: JobView[];
  nextPageToken: string | null;
}

/** GET /jobs query. */
export const jobListQuerySchema = z
  .object({
    state: jobState.optional(),
    kind: jobKind.optional(),
    dataset: z.string().trim().min(1).max(200).optional(),
    maxResults: z.coerce.number().int().min(1).max(1000).default(100),
    pageToken: z.string().max(200).optional(),
  })
  .strict();
export type JobListQuery = z.infer<typeof jobListQuerySchema>;

/**
 * DELETE /jobs/:id and POST /jobs/:id/retry query: nothing. Who asks is the calling key's name (carried in the event
 * it emits); a `by` is refused.
 */
export const jobActionQuerySchema = z.object({}).strict();
export type JobActionQuery = z.infer<typeof jobActionQuerySchema>;
