import type { ImageSpec } from '@sepal/contracts';
import type { StageBatch } from '../../datasets/domain/staged-batch';

/** Where the images come from: a zip (moved to the worker), or IDX files on this machine (a built-in dataset). */
export type ImageSource =
  | { kind: 'zip'; zip: Uint8Array; fileName: string }
  | {
      kind: 'idx-files';
      pairs: { prefix: string; split: 'train' | 'test'; images: string; labels: string }[];
      /** Class names by label value (label i is classNames[i]). */
      classNames: string[];
    };

export interface ImageLimits {
  maxFiles: number;
  maxFileBytes: number;
  maxPixels: number;
}

/** What an image import worker is given at its start. */
export interface ImageImportWorkerData {
  dataset: string;
  source: ImageSource;
  /** The declared shape; height and width unset: the IDX files' own, else 28×28. */
  spec: Omit<ImageSpec, 'height' | 'width'> & { height?: number; width?: number };
  /** The label map of the dataset's latest version: kept in order, new classes appended sorted. */
  labels: string[];
  /** At most this many images (IDX sources: each pair in proportion). */
  limit?: number;
  seed: string;
  /** Batches as COPY text (PostgreSQL) rather than JSON (PGlite). */
  copy: boolean;
  batchRows: number;
  limits: ImageLimits;
  /** Per-file problems collected before the import is refused. */
  maxProblems: number;
}

/** Pixels of images not sent before: hashes and base64 pixels, in the same order, and their shape. */
export interface ImageBlobs {
  shape: { height: number; width: number; channels: 1 | 3 };
  hashes: string[];
  pixels: string[];
}

export interface ImageImportSummary {
  rows: number;
  spec: ImageSpec;
  labels: string[];
  /** Files outside a class folder, skipped (at most 100 named). */
  ignored: string[];
  bytes: number;
  /** Test rows per stratum when every row's split was declared by its file (IDX train/t10k), else null. */
  declaredTest: Record<string, number> | null;
}

export type ImageWorkerError =
  | { kind: 'files'; problems: string[]; total: number }
  | { kind: 'limit'; message: string; setting: string }
  | { kind: 'layout'; message: string }
  | { kind: 'other'; message: string };

export type ToImageWorker = { type: 'staged' };

export type FromImageWorker =
  | { type: 'batch'; batch: StageBatch; blobs: ImageBlobs }
  | { type: 'done'; threadId: number; summary: ImageImportSummary }
  | { type: 'failed'; error: ImageWorkerError };
