import type { DatasetVersionInfo } from '../clients/data-client';
import type { RunReporter } from '../jobs/run-reporter';
import { validationRegressionMetrics, type TrialResult } from '../sweep/grid-search';
import type { Exported } from './export.step';
import type { ModelRegistry } from './pipeline-ports';
import type { PipelineStep, StepSummary } from './step-runner';

export interface RegisterInput {
  jobId: string;
  parentRunId: string;
  dataset: string;
  run: Pick<RunReporter, 'progress' | 'registered'>;
  version: DatasetVersionInfo;
  trialCount: number;
  selected: { trial: TrialResult; description: string };
  /** The test metrics and the parity figures of the export. */
  metrics: Record<string, number>;
  exported: Exported;
}

export interface Registered {
  modelName: string;
  version: number;
  sha256: string;
  artifactUrl: string;
  /** The parent run's final metrics, copied into the version. */
  metrics: Record<string, number>;
}

export interface RegisterDeps {
  registry: Pick<ModelRegistry, 'uploadArtifact' | 'registerVersion'>;
}

/**
 * Records the selected model's metrics on the parent run, then uploads the artifact and registers it as a new version
 * of the model (with its signature and metrics), and announces model.registered.
 */
export class RegisterStep implements PipelineStep<RegisterInput, Registered> {
  readonly id = 'register';

  constructor(private readonly deps: RegisterDeps) {}

  async run(input: RegisterInput): Promise<Registered> {
    const { parentRunId, run, version, trialCount, selected, exported } = input;
    const { modelName, sha256 } = exported;
    const { features, labels, image } = version.schema;
    const regression = selected.trial.valRmse !== undefined;
    const metrics = finalRunMetrics(input.metrics, selected.trial, trialCount);
    // Recorded before the registry is involved: if it stays down, the run still shows what was trained.
    await run.progress(parentRunId, trialCount, metrics);

    const artifact = await this.deps.registry.uploadArtifact(exported.bytes, sha256);
    const registered = await this.deps.registry.registerVersion(modelName, {
      runId: parentRunId,
      sha256,
      signature: {
        // An image model takes [N, H, W, C] pixel values 0..255 (NHWC, uint8), as its ONNX input and the gateway do.
        inputs: [
          image
            ? { name: 'features', dtype: 'uint8', shape: [-1, image.height, image.width, image.channels] }
            : { name: 'features', dtype: 'float32', shape: [-1, features.length] },
        ],
        outputs: regression
          ? [{ name: 'value', dtype: 'float32', shape: [-1, 1] }]
          : [
              { name: 'probabilities', dtype: 'float32', shape: [-1, labels.length] },
              { name: 'label', dtype: 'int64', shape: [-1] },
            ],
        task: regression ? 'regression' : 'classification',
        features,
        ...(version.schema.columns ? { columns: version.schema.columns } : {}),
        ...(image ? { image: { height: image.height, width: image.width, channels: image.channels } } : {}),
        labels: regression ? [] : labels,
        dataset: input.dataset,
        datasetVersion: version.id,
      },
      metrics,
      description: `${input.dataset} v${version.seq}, ${selected.description}, job ${input.jobId}`,
    });
    await run.registered({
      modelName,
      version: registered.version,
      runId: parentRunId,
      sha256,
      artifactUrl: artifact.url,
      metrics,
    });
    return { modelName, version: registered.version, sha256, artifactUrl: artifact.url, metrics };
  }

  summarize({ modelName, version, sha256 }: Registered): StepSummary {
    return { modelName, modelVersion: version, sha256 };
  }
}

/** The parent run's final metrics: the test and parity figures with the selected trial's. */
export function finalRunMetrics(
  metrics: Record<string, number>,
  trial: TrialResult,
  trialCount: number,
): Record<string, number> {
  const { valRmse } = trial;
  const regression = valRmse !== undefined;
  return {
    ...metrics,
    ...(regression ? { val_rmse: valRmse } : { val_accuracy: trial.valAccuracy }),
    ...validationRegressionMetrics(trial),
    val_loss: trial.valLoss,
    selected_trial: trial.index + 1,
    // Final values of the sweep's progress metrics: the registry copies the run's metrics into the version, and
    // progress events still in flight must not leave an earlier value there.
    trials_done: trialCount,
    ...(regression ? { best_val_rmse: valRmse } : { best_val_accuracy: trial.valAccuracy }),
  };
}
