import type { DatasetSchema } from '@sepal/contracts';
import type { AppliedCleaningRule } from '../domain/cleaning';
import type { ImportOptions } from '../domain/csv-import';
import type { StageBatch } from '../domain/staged-batch';

/** What an import worker is given at its start: the file's reading options and how to key and stage its rows. */
export interface ImportWorkerData {
  options: ImportOptions;
  maxBytes: number;
  limitSetting: string;
  /** Only the problems are collected, nothing staged (import with dryRun=true). */
  dryRun: boolean;
  dataset: string;
  fileName: string;
  seed: string;
  /** Batches as COPY text (PostgreSQL) rather than JSON (PGlite). */
  copy: boolean;
  batchRows: number;
  maxProblems: number;
}

export type ToImportWorker =
  /** A chunk of the body, its ArrayBuffer transferred. */
  | { type: 'chunk'; data: Uint8Array }
  | { type: 'end' }
  /** A batch was staged: the worker may make another. */
  | { type: 'staged' };

/** What the service needs once every row is read (an import). */
export interface ImportSummary {
  rows: number;
  schema: DatasetSchema;
  cleaningRules: AppliedCleaningRule[];
  ranges: ({ min: number; max: number } | null)[];
  bytes: number;
}

export interface DryRunSummary {
  schema: DatasetSchema;
  rowCount: number;
  problems: string[];
}

export type WorkerError =
  | { kind: 'format'; line: number | null; problem: string }
  | { kind: 'too-large'; limit: number; setting: string }
  | { kind: 'other'; message: string };

export type FromImportWorker =
  /** A chunk was taken off the worker's queue: the reader may send another. */
  | { type: 'pulled' }
  | { type: 'batch'; batch: StageBatch }
  | { type: 'done'; threadId: number; summary: ImportSummary }
  | { type: 'dry-run'; threadId: number; summary: DryRunSummary }
  | { type: 'failed'; error: WorkerError };
