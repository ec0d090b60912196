import type { StandardizerSpec } from './standardizer';

/** One raw cell as a client or a dataset page carries it: a number, a category string, or null when missing. */
export type FeatureCell = number | string | null;

export type FeatureColumnType = 'numeric' | 'categorical';

export interface FeatureColumn {
  name: string;
  type: FeatureColumnType;
}

/**
 * Everything a model does to raw rows before its first layer (or tree), fitted on the training split and exported
 * inside the ONNX graph by `buildPreprocessingGraph`:
 * - a missing numeric cell (null, NaN) takes its column's training median;
 * - numeric columns are then standardised (dense models; trees take the raw scale and have no standardizer);
 * - each categorical column becomes a one-hot block over its training categories. A category never seen in
 *   training, and a missing categorical cell, encode as an all-zero block.
 * The encoded row is [numeric columns in column order..., one-hot blocks in column order...].
 */
export interface FeaturePreprocessing {
  /** The raw columns, in the order clients send them. */
  columns: FeatureColumn[];
  /** Per numeric column (column order): the value a missing cell takes. Absent: no imputation (legacy graphs). */
  medians?: number[];
  /** Per numeric column (column order), applied after imputation; absent for models on the raw scale. */
  standardizer?: StandardizerSpec;
  /** Per categorical column (column order): its training categories, in one-hot order. */
  categories: string[][];
}

export interface FitPreprocessingOptions {
  /** Standardise the numeric columns (dense networks); trees leave them as they are. */
  standardize: boolean;
}

/** Names of the numeric and categorical columns, each in column order. */
export function columnsByType(columns: readonly FeatureColumn[]): {
  numeric: string[];
  categorical: string[];
} {
  return {
    numeric: columns.filter((c) => c.type === 'numeric').map((c) => c.name),
    categorical: columns.filter((c) => c.type === 'categorical').map((c) => c.name),
  };
}

/** The all-numeric preprocessing of a model without categorical columns or imputation (today's graphs). */
export function numericPreprocessing(
  featureNames: readonly string[],
  standardizer?: StandardizerSpec,
): FeaturePreprocessing {
  return {
    columns: featureNames.map((name) => ({ name, type: 'numeric' })),
    ...(standardizer ? { standardizer } : {}),
    categories: [],
  };
}

/** Width of an encoded row: the numeric columns plus every one-hot block. */
export function encodedWidth(preprocessing: FeaturePreprocessing): number {
  const numeric = preprocessing.columns.filter((c) => c.type === 'numeric').length;
  return preprocessing.categories.reduce((width, categories) => width + categories.length, numeric);
}

/** Names of the encoded columns: `x` for a numeric column, `colour=red` for a one-hot position. */
export function encodedFeatureNames(preprocessing: FeaturePreprocessing): string[] {
  const { numeric, categorical } = columnsByType(preprocessing.columns);
  return [
    ...numeric,
    ...categorical.flatMap((name, j) => preprocessing.categories[j].map((category) => `${name}=${category}`)),
  ];
}

/**
 * Per raw column (column order), the sum of its encoded columns' values: a numeric column's own, a categorical
 * column's one-hot block (e.g. a tree model's feature importance, reported per column the client sends).
 */
export function sumByColumn(preprocessing: FeaturePreprocessing, encoded: readonly number[]): number[] {
  if (encoded.length !== encodedWidth(preprocessing)) {
    throw new Error(
      `sumByColumn: ${encoded.length} values for ${encodedWidth(preprocessing)} encoded columns`,
    );
  }
  let numeric = 0;
  let categorical = 0;
  let offset = preprocessing.columns.filter((c) => c.type === 'numeric').length;
  return preprocessing.columns.map((column) => {
    if (column.type === 'numeric') return encoded[numeric++];
    const width = preprocessing.categories[categorical++].length;
    const block = encoded.slice(offset, offset + width);
    offset += width;
    return block.reduce((sum, value) => sum + value, 0);
  });
}

/** A numeric cell that counts as missing. */
export function isMissingCell(cell: FeatureCell | undefined): boolean {
  return cell === null || cell === undefined || (typeof cell === 'number' && Number.isNaN(cell));
}

/**
 * Fits the preprocessing on the training rows (in `columns` order). Medians are rounded to float32, as the graph's
 * Imputer stores them, so the reference encoding and the graph impute the same value.
 */
export function fitFeaturePreprocessing(
  columns: readonly FeatureColumn[],
  rows: readonly (readonly FeatureCell[])[],
  { standardize }: FitPreprocessingOptions,
): FeaturePreprocessing {
  if (columns.length === 0) throw new Error('fitFeaturePreprocessing: at least one column is needed');
  if (rows.length === 0) throw new Error('fitFeaturePreprocessing: at least one row is needed');
  assertRowShapes(columns, rows, 'fitFeaturePreprocessing');
  const medians: number[] = [];
  const mean: number[] = [];
  const std: number[] = [];
  const categories: string[][] = [];
  columns.forEach((column, index) => {
    if (column.type === 'categorical') {
      const seen = new Set<string>();
      for (const row of rows) {
        const cell = row[index];
        if (!isMissingCell(cell) && String(cell) !== '') seen.add(String(cell));
      }
      categories.push([...seen].sort());
      return;
    }
    const present = rows.map((row) => row[index]).filter((cell): cell is number => !isMissingCell(cell));
    const median = Math.fround(present.length === 0 ? 0 : medianOf(present));
    medians.push(median);
    if (standardize) {
      const values = rows.map((row) => (isMissingCell(row[index]) ? median : (row[index] as number)));
      const columnMean = values.reduce((sum, value) => sum + value, 0) / values.length;
      const variance = values.reduce((sum, value) => sum + (value - columnMean) ** 2, 0) / values.length;
      const isConstant = values.every((value) => value === values[0]);
      mean.push(columnMean);
      std.push(isConstant ? 1 : Math.sqrt(variance));
    }
  });
  return {
    columns: columns.map(({ name, type }) => ({ name, type })),
    medians,
    ...(standardize ? { standardizer: { mean, std } } : {}),
    categories,
  };
}

/** The reference encoding (float64) of raw rows: what the exported graph computes from the same cells. */
export function encodeFeatureRows(
  preprocessing: FeaturePreprocessing,
  rows: readonly (readonly FeatureCell[])[],
): number[][] {
  assertRowShapes(preprocessing.columns, rows, 'encodeFeatureRows');
  const { medians, standardizer, categories } = preprocessing;
  const indexes = categories.map((list) => new Map(list.map((category, k) => [category, k])));
  return rows.map((row) => {
    const numeric: number[] = [];
    const oneHot: number[] = [];
    let categorical = 0;
    preprocessing.columns.forEach((column, index) => {
      const cell = row[index];
      if (column.type === 'categorical') {
        const block = new Array<number>(categories[categorical].length).fill(0);
        const position = isMissingCell(cell) ? undefined : indexes[categorical].get(String(cell));
        if (position !== undefined) block[position] = 1;
        oneHot.push(...block);
        categorical++;
        return;
      }
      const k = numeric.length;
      let value: number;
      if (isMissingCell(cell)) {
        if (medians === undefined) {
          throw new Error(`encodeFeatureRows: '${column.name}' is missing and the model imputes nothing`);
        }
        value = medians[k];
      } else value = cell as number;
      numeric.push(standardizer ? (value - standardizer.mean[k]) / standardizer.std[k] : value);
    });
    return [...numeric, ...oneHot];
  });
}

/**
 * The graph's input tensors for raw rows: `numeric` is [N, numeric columns] row-major with NaN for a missing cell,
 * `categorical` is [N, categorical columns] row-major with '' for a missing cell.
 */
export function featureTensorValues(
  columns: readonly FeatureColumn[],
  rows: readonly (readonly FeatureCell[])[],
): { numeric: number[]; categorical: string[] } {
  assertRowShapes(columns, rows, 'featureTensorValues');
  const numeric: number[] = [];
  const categorical: string[] = [];
  for (const row of rows) {
    columns.forEach((column, index) => {
      const cell = row[index];
      if (column.type === 'categorical') categorical.push(isMissingCell(cell) ? '' : String(cell));
      else numeric.push(isMissingCell(cell) ? Number.NaN : (cell as number));
    });
  }
  return { numeric, categorical };
}

/** Lists what is inconsistent in a preprocessing spec (counts per column type, non-finite numbers). */
export function featurePreprocessingProblems(preprocessing: FeaturePreprocessing): string[] {
  const problems: string[] = [];
  const { numeric, categorical } = columnsByType(preprocessing.columns);
  if (preprocessing.columns.length === 0) problems.push('there are no columns');
  const names = preprocessing.columns.map((c) => c.name);
  if (new Set(names).size !== names.length) problems.push('column names must be unique');
  const { medians, standardizer, categories } = preprocessing;
  if (medians && medians.length !== numeric.length) {
    problems.push(`${medians.length} medians for ${numeric.length} numeric columns`);
  }
  if (medians && !medians.every(Number.isFinite)) problems.push('a median is not finite');
  if (standardizer) {
    if (standardizer.mean.length !== numeric.length || standardizer.std.length !== numeric.length) {
      problems.push(
        `standardizer has ${standardizer.mean.length} means and ${standardizer.std.length} deviations for ${numeric.length} numeric columns`,
      );
    }
    if (!standardizer.mean.every(Number.isFinite)) problems.push('standardizer.mean has a non-finite value');
    if (!standardizer.std.every((value) => Number.isFinite(value) && value > 0)) {
      problems.push('standardizer.std must be finite and > 0');
    }
  }
  if (categories.length !== categorical.length) {
    problems.push(`${categories.length} category lists for ${categorical.length} categorical columns`);
  }
  categories.forEach((list, j) => {
    if (new Set(list).size !== list.length) problems.push(`the categories of '${categorical[j]}' repeat`);
    if (list.includes('')) problems.push(`'${categorical[j]}' has an empty category (it means missing)`);
  });
  return problems;
}

function assertRowShapes(
  columns: readonly FeatureColumn[],
  rows: readonly (readonly FeatureCell[])[],
  what: string,
): void {
  rows.forEach((row, rowIndex) => {
    if (row.length !== columns.length) {
      throw new Error(`${what}: row ${rowIndex} has ${row.length} values, expected ${columns.length}`);
    }
    columns.forEach((column, index) => {
      const cell = row[index];
      if (
        column.type === 'numeric' &&
        !isMissingCell(cell) &&
        !(typeof cell === 'number' && isFinite(cell))
      ) {
        throw new Error(
          `${what}: row ${rowIndex}, column '${column.name}' is numeric but holds ${JSON.stringify(cell)}`,
        );
      }
    });
  });
}

function medianOf(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}
