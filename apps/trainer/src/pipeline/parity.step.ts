import type { SplitImages, SplitRows } from '../clients/data-client';
import { checkOnnxImageParity } from '../evaluation/onnx-image-parity';
import { artifactColumns } from '../evaluation/onnx-accuracy';
import { checkOnnxParity, checkOnnxRegressorParity, type ParityReport } from '../evaluation/onnx-parity';
import { JobRejectedError } from '../jobs/job-errors';
import type { RunReporter } from '../jobs/run-reporter';
import type { PipelineStep, StepSummary } from './step-runner';

export interface ParityInput {
  parentRunId: string;
  run: Pick<RunReporter, 'progress'>;
  /** The parent run's step of the metrics recorded here: its number of trials. */
  trialCount: number;
  bytes: Uint8Array;
  test: SplitRows;
  /** TensorFlow.js probabilities of the same test rows (a regressor: one column, the value). */
  probabilities: number[][];
  task?: 'classification' | 'regression';
  /** An image model's test images (then `test` holds their classes only). */
  testImages?: SplitImages;
}

export interface ParityChecked {
  report: ParityReport;
  metrics: { onnx_parity_max_abs_diff: number; onnx_parity_label_mismatches: number };
}

export interface ParityDeps {
  /** max |ONNX - TensorFlow.js| of any probability (PARITY_TOLERANCE). */
  tolerance: number;
}

/**
 * Runs the export in onnxruntime on the test rows and compares it with TensorFlow.js. An export that fails the check
 * is never registered: its figures are recorded on the run and the job is rejected.
 */
export class ParityStep implements PipelineStep<ParityInput, ParityChecked> {
  readonly id = 'parity';

  constructor(private readonly deps: ParityDeps) {}

  async run(input: ParityInput): Promise<ParityChecked> {
    const check = input.task === 'regression' ? checkOnnxRegressorParity : checkOnnxParity;
    const report = input.testImages
      ? await checkOnnxImageParity(input.bytes, input.testImages, input.probabilities, this.deps.tolerance)
      : await check(
          input.bytes,
          input.test.features,
          input.probabilities,
          this.deps.tolerance,
          artifactColumns(input.bytes),
        );
    const metrics = {
      onnx_parity_max_abs_diff: report.maxAbsDifference,
      onnx_parity_label_mismatches: report.labelMismatches,
    };
    if (!report.passed) {
      await input.run.progress(input.parentRunId, input.trialCount, metrics);
      throw new JobRejectedError(report.reason ?? 'ONNX parity check failed');
    }
    return { report, metrics };
  }

  summarize({ report }: ParityChecked): StepSummary {
    return {
      max_abs_diff: report.maxAbsDifference,
      label_mismatches: report.labelMismatches,
      rows: report.rows,
    };
  }
}
