import { z } from 'zod';
import { nonEmptyName, sha256Hex } from '../events/common';
import { batchSplit } from './batch.events';
import type { JobView } from './jobs.dto';

/** The model a batch job scores with: an alias (default champion) or a version, not both. */
const modelRef = {
  model: nonEmptyName,
  alias: nonEmptyName.optional(),
  version: z.coerce.number().int().positive().optional(),
};
const oneOfAliasOrVersion = (value: { alias?: string; version?: number }) =>
  value.alias === undefined || value.version === undefined;
const aliasOrVersion = {
  message: 'name either an alias or a version of the model, not both',
  path: ['version'],
};

/** POST /batch-jobs with a JSON body: score a dataset version (or one of its splits). */
export const createBatchJobSchema = z
  .object({
    ...modelRef,
    dataset: nonEmptyName,
    /** Version ref: 'latest' (default), 'v3', an id or a prefix. */
    datasetVersion: z.string().trim().min(1).max(200).default('latest'),
    split: batchSplit.default('all'),
  })
  .strict()
  .refine(oneOfAliasOrVersion, aliasOrVersion);
export type CreateBatchJobRequest = z.infer<typeof createBatchJobSchema>;

/** POST /batch-jobs with a CSV body (Content-Type: text/csv): the model is named in the query string. */
export const batchUploadQuerySchema = z.object(modelRef).strict().refine(oneOfAliasOrVersion, aliasOrVersion);
export type BatchUploadQuery = z.infer<typeof batchUploadQuerySchema>;

/** PUT /batch-jobs/:id/output (a trainer): the attempt it scored and what the CSV holds. */
export const batchOutputQuerySchema = z
  .object({
    attempt: z.coerce.number().int().positive(),
    rows: z.coerce.number().int().nonnegative(),
    errorRows: z.coerce.number().int().nonnegative(),
  })
  .strict();
export type BatchOutputQuery = z.infer<typeof batchOutputQuerySchema>;

/** GET /batch-jobs query. */
export const batchJobListQuerySchema = z
  .object({
    maxResults: z.coerce.number().int().min(1).max(1000).default(50),
    pageToken: z.string().max(200).optional(),
  })
  .strict();
export type BatchJobListQuery = z.infer<typeof batchJobListQuerySchema>;

/** The output of a batch job's attempt, registered once the whole CSV was stored. */
export interface BatchOutputView {
  attempt: number;
  sha256: string;
  size: number;
  /** Output rows: one per input row. */
  rows: number;
  /** Rows that did not match the model's signature (their `error` column says why; no prediction). */
  errorRows: number;
  /** GET it: the CSV, streamed. */
  url: string;
  createdAt: string;
}

/** A batch job: the job record (steps, progress in the score step's summary) and its output once complete. */
export interface BatchJobView extends JobView {
  output: BatchOutputView | null;
}

export interface BatchJobListView {
  jobs: BatchJobView[];
  nextPageToken: string | null;
}

export const batchOutputViewSchema = z.object({
  attempt: z.number().int().positive(),
  sha256: sha256Hex,
  size: z.number().int().nonnegative(),
  rows: z.number().int().nonnegative(),
  errorRows: z.number().int().nonnegative(),
  url: z.string(),
  createdAt: z.string(),
});
