import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BatchRequested } from '@sepal/contracts';
import { ServiceCallError } from '@sepal/http-client';
import type { DataClient } from '../clients/data-client';
import type { RegistryClient } from '../clients/registry-client';
import { JobRejectedError } from '../jobs/job-errors';
import type { PipelineStep } from '../pipeline/step-runner';
import type { TrainerConfigValues } from '../trainer.config';
import type { BatchRegistryClient } from './batch-registry-client';
import { BatchRejectedInput, scoreInWorker } from './scoring/batch-scorer';
import type { ScoreFileResult } from './scoring/score-file';

export interface BatchContext {
  request: BatchRequested;
  /** This job's own temporary folder (deleted when it ends). */
  dir: string;
  signal: AbortSignal;
  onProgress: (rows: number, total: number) => void;
}

export interface BatchDeps {
  config: TrainerConfigValues;
  data: Pick<DataClient, 'version' | 'exportCsv'>;
  registry: Pick<RegistryClient, 'downloadArtifact'>;
  batch: Pick<BatchRegistryClient, 'input' | 'storeOutput'>;
}

export interface ResolvedInput {
  inputPath: string;
  rowsTotal: number;
  datasetVersion: string | null;
  modelBytes: Uint8Array;
}

export type ScoredOutput = ScoreFileResult & { outputPath: string };

/** resolve-input: the rows to score (a dataset version's export, or the upload) and the pinned model's artifact. */
export function resolveInputStep(ctx: BatchContext, deps: BatchDeps): PipelineStep<void, ResolvedInput> {
  return {
    id: 'resolve-input',
    async run() {
      const { input, model, jobId } = ctx.request;
      const max = deps.config.TRAINER_BATCH_MAX_ROWS;
      const tooMany = (rows: number) =>
        new JobRejectedError(`the input has ${rows} rows, more than ${max} (TRAINER_BATCH_MAX_ROWS)`);
      let bytes: Uint8Array;
      let rowsTotal: number;
      let datasetVersion: string | null = null;
      if (input.type === 'dataset') {
        const version = await deps.data.version(input.dataset, input.version).catch((error: unknown) => {
          if (error instanceof ServiceCallError && error.status === 404) {
            throw new JobRejectedError(`version '${input.version}' of dataset '${input.dataset}' not found`);
          }
          throw error;
        });
        rowsTotal =
          input.split === 'all'
            ? version.rowCount
            : input.split === 'train'
              ? version.trainRows
              : version.testRows;
        if (rowsTotal > max) throw tooMany(rowsTotal);
        datasetVersion = version.id;
        bytes = await deps.data.exportCsv(
          input.dataset,
          version.id,
          input.split === 'all' ? undefined : input.split,
        );
      } else {
        if (input.rows > max) throw tooMany(input.rows);
        rowsTotal = input.rows;
        bytes = await deps.batch.input(jobId);
      }
      const inputPath = join(ctx.dir, 'input.csv');
      await writeFile(inputPath, bytes);
      const modelBytes = await deps.registry.downloadArtifact(model.sha256);
      return { inputPath, rowsTotal, datasetVersion, modelBytes };
    },
    summarize: (out) => ({
      rowsTotal: out.rowsTotal,
      modelName: ctx.request.model.name,
      modelVersion: ctx.request.model.version,
      ...(out.datasetVersion ? { datasetVersion: out.datasetVersion } : {}),
    }),
  };
}

/** score: every row through the model in a worker thread, into the output CSV. */
export function scoreStep(ctx: BatchContext, deps: BatchDeps): PipelineStep<ResolvedInput, ScoredOutput> {
  return {
    id: 'score',
    async run(input) {
      const outputPath = join(ctx.dir, 'output.csv');
      try {
        const result = await scoreInWorker(
          {
            modelBytes: input.modelBytes,
            inputPath: input.inputPath,
            outputPath,
            model: { name: ctx.request.model.name, version: ctx.request.model.version },
            chunkRows: deps.config.TRAINER_BATCH_CHUNK_ROWS,
            maxRows: deps.config.TRAINER_BATCH_MAX_ROWS,
            maxRowsSetting: 'TRAINER_BATCH_MAX_ROWS',
            intraOpThreads: deps.config.TRAINER_BATCH_ORT_THREADS,
          },
          { signal: ctx.signal, onProgress: (rows) => ctx.onProgress(rows, input.rowsTotal) },
        );
        return { ...result, outputPath };
      } catch (error) {
        if (error instanceof BatchRejectedInput) throw new JobRejectedError(error.message);
        throw error;
      }
    },
    summarize: (out) => ({ rowsScored: out.rows, errorRows: out.errorRows, outputBytes: out.bytes }),
  };
}

/** store-output: the whole file to the registry, which registers it for this attempt (unless it was cancelled). */
export function storeOutputStep(
  ctx: BatchContext,
  deps: BatchDeps,
): PipelineStep<ScoredOutput, ScoredOutput> {
  return {
    id: 'store-output',
    async run(scored) {
      await deps.batch.storeOutput(ctx.request.jobId, ctx.request.attempt, {
        path: scored.outputPath,
        sha256: scored.sha256,
        rows: scored.rows,
        errorRows: scored.errorRows,
      });
      return scored;
    },
    summarize: (out) => ({ sha256: out.sha256, rows: out.rows, errorRows: out.errorRows, bytes: out.bytes }),
  };
}
