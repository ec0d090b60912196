import type { ScoreFileOptions, ScoreFileResult } from './score-file';

/** What the scoring worker is given: the model, where to read and write, and the file scoring's settings. */
export interface ScoreWorkerData extends Omit<ScoreFileOptions, 'onProgress'> {
  modelBytes: Uint8Array;
  intraOpThreads: number;
}

/** What it posts back: progress after each chunk, then its result or why it failed. */
export type FromScoreWorker =
  | { type: 'progress'; rows: number }
  | { type: 'done'; result: ScoreFileResult }
  | { type: 'failed'; message: string; rejected: boolean }
  | { type: 'stopped' };

/** What the parent posts to it: stop after the current chunk (a cancelled job). */
export type ToScoreWorker = { type: 'stop' };
