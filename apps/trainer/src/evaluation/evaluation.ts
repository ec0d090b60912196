import { MAX_TAG_VALUE_LENGTH } from '@sepal/contracts';
import {
  argmax,
  classificationReport,
  regressionReport,
  type ClassificationReport,
  type RegressionReport,
} from '@sepal/ml';

export interface TestEvaluation {
  report: ClassificationReport;
  /** Flat parent-run metrics: test_accuracy, test_macro_f1, test_log_loss, test_precision_<class>, test_recall_<class>. */
  metrics: Record<string, number>;
  /**
   * The confusion matrix as a JSON tag (rows: true class, columns: predicted, in label order), when it fits a tag value
   * (MAX_TAG_VALUE_LENGTH: some 20 classes); cut, it would not be JSON, so a larger one is left out. With ids of the
   * test rows (an image's content hash), `misclassified` too: MisclassifiedExample[] as JSON.
   */
  tags: Record<string, string>;
}

/** A test row the model got wrong, by the id its data has (an image: its content hash). */
export interface MisclassifiedExample {
  id: string;
  label: string;
  predicted: string;
  /** The probability the model gave its (wrong) class. */
  confidence: number;
}

/** The most confident mistakes a run keeps (as many as fit a tag value, up to this). */
export const MISCLASSIFIED_EXAMPLES = 24;

/** Metric keys keep class names readable but safe for the registry's search language. */
export function metricSuffix(label: string): string {
  return label.replace(/[^A-Za-z0-9_]+/g, '_');
}

/**
 * Evaluates probabilities on the test split; called once per job, for the selected model. `ids` name the test rows
 * (an image dataset's content hashes) for the `misclassified` tag.
 */
export function evaluateOnTest(
  probabilities: number[][],
  yTrue: number[],
  labels: string[],
  ids?: readonly string[],
): TestEvaluation {
  const predicted = probabilities.map((row) => argmax(row));
  const report = classificationReport(yTrue, predicted, probabilities, labels);
  const metrics: Record<string, number> = {
    test_accuracy: report.accuracy,
    test_macro_f1: report.macroF1,
    test_rows: yTrue.length,
  };
  if (report.logLoss !== undefined && Number.isFinite(report.logLoss)) metrics.test_log_loss = report.logLoss;
  for (const { label, precision, recall, f1 } of report.perClass) {
    metrics[`test_precision_${metricSuffix(label)}`] = precision;
    metrics[`test_recall_${metricSuffix(label)}`] = recall;
    metrics[`test_f1_${metricSuffix(label)}`] = f1;
  }
  const confusion = JSON.stringify({ labels, matrix: report.confusionMatrix });
  const tags: Record<string, string> =
    confusion.length <= MAX_TAG_VALUE_LENGTH ? { confusion_matrix: confusion } : {};
  if (ids && ids.length === yTrue.length)
    tags.misclassified = misclassifiedTag(probabilities, yTrue, labels, ids);
  return { report, metrics, tags };
}

/** The most confident mistakes, most confident first, as many as fit a tag value (up to MISCLASSIFIED_EXAMPLES). */
function misclassifiedTag(
  probabilities: number[][],
  yTrue: number[],
  labels: string[],
  ids: readonly string[],
): string {
  const wrong: MisclassifiedExample[] = [];
  probabilities.forEach((row, i) => {
    const predicted = argmax(row);
    if (predicted === yTrue[i]) return;
    wrong.push({
      id: ids[i],
      label: labels[yTrue[i]],
      predicted: labels[predicted],
      confidence: row[predicted],
    });
  });
  wrong.sort((a, b) => b.confidence - a.confidence);
  let kept = wrong.slice(0, MISCLASSIFIED_EXAMPLES);
  while (kept.length > 0 && JSON.stringify(kept).length > MAX_TAG_VALUE_LENGTH) kept = kept.slice(0, -1);
  return JSON.stringify(kept);
}

export interface RegressionEvaluation {
  report: RegressionReport;
  /** Flat parent-run metrics: test_rmse, test_mae, test_r2, test_within_tolerance, test_rows. */
  metrics: Record<string, number>;
  tags: Record<string, string>;
}

/** A regression report as the parent run's test metrics: test_rmse, test_mae, test_r2, test_within_tolerance. */
export function regressionTestMetrics(report: RegressionReport): Record<string, number> {
  return {
    test_rmse: report.rmse,
    test_mae: report.mae,
    test_r2: report.r2,
    test_within_tolerance: report.withinTolerance,
  };
}

/** Evaluates a regressor's predicted values on the test split; called once per job, for the selected model. */
export function evaluateRegressionOnTest(
  values: number[],
  yTrue: number[],
  tolerance: number,
): RegressionEvaluation {
  const report = regressionReport(yTrue, values, tolerance);
  return {
    report,
    metrics: { ...regressionTestMetrics(report), test_rows: yTrue.length },
    tags: { within_tolerance: String(tolerance) },
  };
}
