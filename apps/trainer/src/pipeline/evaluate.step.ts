import type { SplitRows } from '../clients/data-client';
import { evaluateOnTest, type TestEvaluation } from '../evaluation/evaluation';
import type { TrainerMetrics } from '../observability/trainer-metrics';
import type { TrainedTrial } from '../workers/trial-trainer';
import type { TrackJob } from './pipeline-ports';
import type { PipelineStep, StepSummary } from './step-runner';

export interface EvaluateInput {
  dataset: string;
  model: Pick<TrainedTrial, 'predictProba'>;
  test: SplitRows;
  labels: string[];
}

export interface Evaluated {
  /** The model's probabilities of the test rows (TensorFlow.js, or the tree learner's): the parity reference. */
  probabilities: number[][];
  evaluation: TestEvaluation;
}

export interface EvaluateDeps {
  metrics: Pick<TrainerMetrics, 'testAccuracy'>;
  track: TrackJob;
}

/** The only time the test split is used: the selected model, once. */
export class EvaluateStep implements PipelineStep<EvaluateInput, Evaluated> {
  readonly id = 'evaluate';

  constructor(private readonly deps: EvaluateDeps) {}

  async run({ dataset, model, test, labels }: EvaluateInput): Promise<Evaluated> {
    const probabilities = await model.predictProba(test.features);
    const evaluation = evaluateOnTest(probabilities, test.labels, labels);
    this.deps.metrics.testAccuracy.set({ dataset }, evaluation.report.accuracy);
    this.deps.track((s) => (s.testMetrics = evaluation.metrics));
    return { probabilities, evaluation };
  }

  summarize({ evaluation, probabilities }: Evaluated): StepSummary {
    const { accuracy, macroF1 } = evaluation.report;
    return { test_accuracy: accuracy, test_macro_f1: macroF1, test_rows: probabilities.length };
  }
}
