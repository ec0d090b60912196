import type { SplitRows } from '../clients/data-client';
import {
  evaluateOnTest,
  evaluateRegressionOnTest,
  regressionTestMetrics,
  type RegressionEvaluation,
  type TestEvaluation,
} from '../evaluation/evaluation';
import type { TrainerMetrics } from '../metrics/trainer-metrics.service';
import type { TrainedTrial } from '../workers/trial-trainer.service';
import type { TrackJob } from './pipeline-ports';
import type { PipelineStep, StepSummary } from './step-runner';

export interface EvaluateInput {
  dataset: string;
  model: Pick<TrainedTrial, 'predictProba'>;
  test: SplitRows;
  /** The test rows as the model reads them (encoded by the sweep's preprocessing). */
  testRows: number[][];
  labels: string[];
  task?: 'classification' | 'regression';
  /** A regressor's tolerance for test_within_tolerance. */
  tolerance: number;
  /** Ids of the test rows (an image dataset's content hashes), for the misclassified examples. */
  testIds?: readonly string[];
}

export interface Evaluated {
  /**
   * The model's probabilities of the test rows (TensorFlow.js, or the tree learner's; a regressor: one column, the
   * value): the reference the ONNX export is checked against.
   */
  probabilities: number[][];
  evaluation: TestEvaluation | RegressionEvaluation;
  /** The metric the gate compares: test_accuracy (classification) or test_rmse (regression), and its value. */
  headline: { metric: string; value: number };
}

export interface EvaluateDeps {
  metrics: Pick<TrainerMetrics, 'testAccuracy'>;
  track: TrackJob;
}

/** The only time the test split is used: the selected model, once. */
export class EvaluateStep implements PipelineStep<EvaluateInput, Evaluated> {
  readonly id = 'evaluate';

  constructor(private readonly deps: EvaluateDeps) {}

  async run(input: EvaluateInput): Promise<Evaluated> {
    const { dataset, model, test, testRows, labels, task, tolerance, testIds } = input;
    const probabilities = await model.predictProba(testRows);
    if (task === 'regression') {
      const evaluation = evaluateRegressionOnTest(
        probabilities.map(([value]) => value),
        test.labels,
        tolerance,
      );
      this.deps.track((s) => (s.testMetrics = evaluation.metrics));
      return { probabilities, evaluation, headline: { metric: 'test_rmse', value: evaluation.report.rmse } };
    }
    const evaluation = evaluateOnTest(probabilities, test.labels, labels, testIds);
    this.deps.metrics.testAccuracy.set({ dataset }, evaluation.report.accuracy);
    this.deps.track((s) => (s.testMetrics = evaluation.metrics));
    return {
      probabilities,
      evaluation,
      headline: { metric: 'test_accuracy', value: evaluation.report.accuracy },
    };
  }

  summarize({ evaluation, probabilities }: Evaluated): StepSummary {
    if ('rmse' in evaluation.report) {
      return { ...regressionTestMetrics(evaluation.report), test_rows: probabilities.length };
    }
    const { accuracy, macroF1 } = evaluation.report;
    return { test_accuracy: accuracy, test_macro_f1: macroF1, test_rows: probabilities.length };
  }
}
