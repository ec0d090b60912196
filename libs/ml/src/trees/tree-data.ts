import { assertClassIndices } from '../metrics/class-indices';
import { assertFiniteMatrix, type Matrix } from '../util/matrix';
import { binRows, fitFeatureBins, type BinnedMatrix, type FeatureBins } from './binning';
import type { TreeTask } from './tree-params';

/** A training set checked and binned once, shared by every tree grown on it. */
export interface TreeTrainingData {
  rowCount: number;
  featureCount: number;
  /** Classes for classification, 1 for regression. */
  classCount: number;
  bins: FeatureBins;
  binned: BinnedMatrix;
  /** The class index of each row (classification only). */
  classes: Int32Array;
  /** The target of each row (regression only). */
  targets: Float64Array;
}

export interface LabelledRows {
  x: Matrix;
  y: readonly number[];
}

/**
 * Checks the rows and labels and bins the features on these rows. For classification, `classCount` defaults to the
 * largest label + 1; pass it when the label map has classes that may be absent from the rows.
 */
export function prepareTreeData(
  data: LabelledRows,
  task: TreeTask,
  maxBins: number,
  classCount: number | undefined,
  what: string,
): TreeTrainingData {
  const { x, y } = data;
  if (x.length === 0) throw new Error(`${what}: no training rows`);
  const featureCount = assertTreeRows(x, what);
  if (featureCount === 0) throw new Error(`${what}: the rows have no features`);
  const classes = task === 'classification' ? checkedClasses(y, x.length, classCount, what) : null;
  const targets = task === 'regression' ? checkedTargets(y, x.length, what) : new Float64Array(0);
  const bins = fitFeatureBins(x, featureCount, maxBins);
  return {
    rowCount: x.length,
    featureCount,
    classCount: classes?.classCount ?? 1,
    bins,
    binned: binRows(x, bins),
    classes: classes?.indices ?? new Int32Array(0),
    targets,
  };
}

export function assertSeed(seed: number, what: string): void {
  if (!Number.isFinite(seed)) throw new Error(`${what}: the seed must be a finite number, got ${seed}`);
}

/** Throws unless every row has `featureCount` (or the first row's count of) finite float32-range values. */
export function assertTreeRows(rows: Matrix, what: string, featureCount?: number): number {
  const width = assertFiniteMatrix(rows, what, featureCount);
  rows.forEach((row, index) => {
    row.forEach((value, column) => {
      if (!Number.isFinite(Math.fround(value))) {
        throw new Error(
          `${what}: row ${index}, column ${column} (${value}) is beyond the float32 range of the model input`,
        );
      }
    });
  });
  return width;
}

export function checkedClasses(
  y: readonly number[],
  rowCount: number,
  classCount: number | undefined,
  what: string,
): { indices: Int32Array; classCount: number } {
  assertLabelCount(y, rowCount, what);
  const count = classCount ?? y.reduce((max, label) => Math.max(max, label + 1), 0);
  if (!Number.isInteger(count) || count < 2 || count > 255) {
    throw new Error(`${what}: classification needs between 2 and 255 classes, got ${count}`);
  }
  assertClassIndices(y, count, `${what}: y`);
  return { indices: Int32Array.from(y), classCount: count };
}

export function checkedTargets(y: readonly number[], rowCount: number, what: string): Float64Array {
  assertLabelCount(y, rowCount, what);
  y.forEach((value, index) => {
    if (!Number.isFinite(value)) throw new Error(`${what}: y[${index}] is not a finite number (${value})`);
  });
  return Float64Array.from(y);
}

function assertLabelCount(y: readonly number[], rowCount: number, what: string): void {
  if (y.length !== rowCount) throw new Error(`${what}: ${rowCount} rows but ${y.length} labels`);
}
