import { assertClassIndices } from './class-indices';

/** Counts by [true class][predicted class]. */
export function confusionMatrix(
  yTrue: readonly number[],
  yPred: readonly number[],
  classCount: number,
): number[][] {
  if (yTrue.length !== yPred.length) {
    throw new Error(`confusionMatrix: ${yTrue.length} true labels but ${yPred.length} predictions`);
  }
  assertClassIndices(yTrue, classCount, 'yTrue');
  assertClassIndices(yPred, classCount, 'yPred');
  const matrix = Array.from({ length: classCount }, () => new Array<number>(classCount).fill(0));
  yTrue.forEach((actual, i) => matrix[actual][yPred[i]]++);
  return matrix;
}
