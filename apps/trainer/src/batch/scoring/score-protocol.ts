import type { ScoreFileResult } from './score-file';

/** What the scoring worker is given: the model and where to read and write. */
export interface ScoreWorkerData {
  modelBytes: Uint8Array;
  inputPath: string;
  outputPath: string;
  model: { name: string; version: number };
  chunkRows: number;
  maxRows: number;
  maxRowsSetting: string;
  intraOpThreads: number;
}

/** What it posts back: progress after each chunk, then its result or why it failed. */
export type FromScoreWorker =
  | { type: 'progress'; rows: number }
  | { type: 'done'; result: ScoreFileResult }
  | { type: 'failed'; message: string; rejected: boolean };
