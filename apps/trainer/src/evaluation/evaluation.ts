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
   * (MAX_TAG_VALUE_LENGTH: some 20 classes); cut, it would not be JSON, so a larger one is left out.
   */
  tags: Record<string, string>;
}

/** Metric keys keep class names readable but safe for the registry's search language. */
export function metricSuffix(label: string): string {
  return label.replace(/[^A-Za-z0-9_]+/g, '_');
}

/** Evaluates probabilities on the test split; called once per job, for the selected model. */
export function evaluateOnTest(probabilities: number[][], yTrue: number[], labels: string[]): TestEvaluation {
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
  return {
    report,
    metrics,
    tags: confusion.length <= MAX_TAG_VALUE_LENGTH ? { confusion_matrix: confusion } : {},
  };
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
