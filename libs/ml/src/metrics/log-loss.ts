import { assertClassIndices } from './class-indices';

export const LOG_LOSS_EPSILON = 1e-15;

/**
 * Mean negative log-likelihood of the true classes, with probabilities clipped to [1e-15, 1 - 1e-15]
 * so a confident mistake costs about 34.5 instead of infinity. Rows are not renormalised.
 */
export function logLoss(yTrue: readonly number[], probabilities: readonly (readonly number[])[]): number {
  if (yTrue.length !== probabilities.length) {
    throw new Error(`logLoss: ${yTrue.length} true labels but ${probabilities.length} probability rows`);
  }
  if (yTrue.length === 0) {
    throw new Error('logLoss: no samples');
  }
  const classCount = probabilities[0].length;
  assertClassIndices(yTrue, classCount, 'yTrue');
  let total = 0;
  probabilities.forEach((row, i) => {
    if (row.length !== classCount) {
      throw new Error(`logLoss: probability row ${i} has ${row.length} values, expected ${classCount}`);
    }
    const clipped = Math.min(Math.max(row[yTrue[i]], LOG_LOSS_EPSILON), 1 - LOG_LOSS_EPSILON);
    total -= Math.log(clipped);
  });
  return total / yTrue.length;
}
