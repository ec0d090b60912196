import { z } from 'zod';
import { nonEmptyName, sha256Hex } from '../events/common';

/** A split of a dataset version to score, or all its rows. */
export const batchSplit = z.enum(['all', 'train', 'test']);
export type BatchSplit = z.infer<typeof batchSplit>;

/** What a batch job scores: a dataset version (by ref, resolved by the trainer) or a CSV uploaded to the registry. */
export const batchInputSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('dataset'),
    dataset: nonEmptyName,
    /** A version ref as the data service takes it: 'latest', 'v3', an id or a prefix. */
    version: z.string().trim().min(1).max(200).default('latest'),
    split: batchSplit.default('all'),
  }),
  z.object({
    type: z.literal('upload'),
    /** The uploaded CSV, stored by the registry content-addressed (GET /batch-jobs/:id/input.csv). */
    sha256: sha256Hex,
    size: z.number().int().nonnegative(),
    /** Data rows (lines after the header) counted when it was received. */
    rows: z.number().int().nonnegative(),
  }),
]);
export type BatchInput = z.infer<typeof batchInputSchema>;

/**
 * `batch.requested`: the registry asks a trainer replica to score a batch job (written to its outbox with the job, and
 * again by a retry). The model version is pinned when the job is created: an alias is resolved then, so a retry or a
 * redelivery scores with the same version whatever the alias points at later.
 */
export const batchRequestedSchema = z.object({
  jobId: z.string().min(1).max(200),
  attempt: z.number().int().positive().default(1),
  input: batchInputSchema,
  model: z.object({
    name: nonEmptyName,
    version: z.number().int().positive(),
    sha256: sha256Hex,
    /** The alias the client asked for, resolved to `version` when the job was created. */
    alias: nonEmptyName.optional(),
  }),
  requestedBy: z.string().max(200).optional(),
});
export type BatchRequested = z.infer<typeof batchRequestedSchema>;
