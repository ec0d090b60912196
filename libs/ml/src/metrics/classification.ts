import { confusionMatrix } from './confusion-matrix';
import { logLoss } from './log-loss';

export interface ClassMetrics {
  label: string;
  precision: number;
  recall: number;
  f1: number;
  /** Number of samples whose true class is this one. */
  support: number;
}

export interface ClassificationReport {
  accuracy: number;
  /** Unweighted mean of the per-class F1 over every label, present in the data or not. */
  macroF1: number;
  perClass: ClassMetrics[];
  /** Rows are true classes, columns are predicted classes. */
  confusionMatrix: number[][];
  /** Only when probabilities were given. */
  logLoss?: number;
}

/**
 * Accuracy, per-class precision/recall/F1, macro F1, confusion matrix and optionally log loss.
 * Class i is labels[i]. A ratio whose denominator is zero counts as 0, like scikit-learn's zero_division=0
 * with labels=range(len(labels)).
 */
export function classificationReport(
  yTrue: readonly number[],
  yPred: readonly number[],
  probabilities: readonly (readonly number[])[] | undefined,
  labels: readonly string[],
): ClassificationReport {
  const matrix = confusionMatrix(yTrue, yPred, labels.length);
  const perClass = labels.map((label, k) => classMetrics(matrix, k, label));
  const correct = matrix.reduce((sum, row, k) => sum + row[k], 0);
  const report: ClassificationReport = {
    accuracy: ratio(correct, yTrue.length),
    macroF1: ratio(
      perClass.reduce((sum, metrics) => sum + metrics.f1, 0),
      perClass.length,
    ),
    perClass,
    confusionMatrix: matrix,
  };
  if (probabilities !== undefined) {
    if (probabilities.some((row) => row.length !== labels.length)) {
      throw new Error(`classificationReport: every probability row must have ${labels.length} values`);
    }
    report.logLoss = logLoss(yTrue, probabilities);
  }
  return report;
}

function classMetrics(matrix: number[][], k: number, label: string): ClassMetrics {
  const truePositives = matrix[k][k];
  const support = matrix[k].reduce((sum, count) => sum + count, 0);
  const predicted = matrix.reduce((sum, row) => sum + row[k], 0);
  const precision = ratio(truePositives, predicted);
  const recall = ratio(truePositives, support);
  return { label, precision, recall, f1: ratio(2 * precision * recall, precision + recall), support };
}

function ratio(numerator: number, denominator: number): number {
  return denominator === 0 ? 0 : numerator / denominator;
}
