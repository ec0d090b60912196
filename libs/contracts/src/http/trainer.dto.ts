import { z } from 'zod';
import { nonEmptyName } from '../events/common';

const paramValue = z.union([z.number(), z.string().max(200), z.boolean()]);

/** POST /train on the trainer: what to train; the trainer publishes train.requested and answers at once. */
export const trainRequestSchema = z
  .object({
    dataset: nonEmptyName,
    /** 'latest' (default), 'v2', a version id or an unambiguous prefix: resolved to the full id before publishing. */
    version: z.string().trim().min(1).max(200).optional(),
    modelName: nonEmptyName.optional(),
    experiment: nonEmptyName.optional(),
    /**
     * Parameter name → candidate values, e.g. {"learningRate": [0.001, 0.01], "hiddenUnits": [8, 16]}; `model` lists
     * the families (dense, forest, gbdt; cnn for images). A list of such grids searches each (e.g. one per family) in
     * one sweep.
     */
    grid: z
      .union([
        z.record(z.string(), z.array(paramValue)),
        z.array(z.record(z.string(), z.array(paramValue))).max(16),
      ])
      .optional(),
    /** Fixed parameters applied under the grid, e.g. {"epochs": 50}. */
    params: z.record(z.string(), paramValue).optional(),
    seed: z.number().int().optional(),
    /** Seconds the sweep may spend (default TRAIN_BUDGET_S): fits the default grid, and no trial starts after it. */
    budgetSeconds: z.number().positive().optional(),
    // No `requestedBy`: the job records the calling key's name.
  })
  .strict();
export type TrainRequest = z.infer<typeof trainRequestSchema>;

export interface TrainAcceptedResponse {
  /** The messageId of the train.requested event. */
  jobId: string;
  correlationId: string;
  dataset: string;
  /** The full dataset version id, when one was asked for. */
  version: string | null;
}

export type JobState = 'queued' | 'running' | 'finished' | 'failed';

export interface TrialStatusView {
  index: number;
  runId: string;
  params: Record<string, string | number | boolean>;
  status: 'pending' | 'running' | 'finished' | 'failed';
  epoch: number;
  epochs: number;
  valAccuracy: number | null;
  valLoss: number | null;
  bestEpoch: number | null;
}

/** GET /jobs/:id: the trainer's in-memory view of a job it accepted or ran (other replicas' jobs are unknown). */
export interface JobStatusView {
  jobId: string;
  correlationId: string;
  state: JobState;
  dataset: string;
  datasetVersion: string | null;
  parentRunId: string | null;
  backend: string | null;
  trials: TrialStatusView[];
  selectedTrial: number | null;
  testMetrics: Record<string, number>;
  modelName: string | null;
  modelVersion: number | null;
  gateDecision: string | null;
  error: string | null;
  updatedAt: string;
}
