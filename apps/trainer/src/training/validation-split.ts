import { stableStratifiedSplit } from '@sepal/ml';

export interface IndexSplit {
  /** Row indices to fit on, ascending. */
  fit: number[];
  /** Row indices held out, ascending. */
  holdout: number[];
}

/**
 * Holds out round(n x fraction) rows of every class, chosen by a seeded hash of the row index; the
 * trainer carves its validation split from the training rows this way (the test split is the dataset's).
 */
export function carveStratifiedHoldout(
  labels: readonly number[],
  fraction: number,
  seed: number,
): IndexSplit {
  const assignment = stableStratifiedSplit(
    labels.map((label, row) => ({ key: String(row), label })),
    { testFraction: fraction, seed },
  );
  const split: IndexSplit = { fit: [], holdout: [] };
  labels.forEach((_, row) => (assignment.get(String(row)) === 'test' ? split.holdout : split.fit).push(row));
  return split;
}
