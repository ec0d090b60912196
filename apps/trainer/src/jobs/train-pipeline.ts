import { createHash, randomUUID } from 'node:crypto';
import { encodeOnnxMetadata, JobStatusView, TrainRequested } from '@sepal/contracts';
import {
  exportDenseClassifierToOnnx,
  fitPsiReference,
  type PsiReference,
  type TrainingParams,
} from '@sepal/ml';
import type { DataClient, DatasetVersionInfo, SplitRows } from '../clients/data-client';
import type { ChampionView, RegistryClient } from '../clients/registry-client';
import { evaluateOnTest } from '../evaluation/evaluation';
import { onnxAccuracy } from '../evaluation/onnx-accuracy';
import { checkOnnxParity } from '../evaluation/onnx-parity';
import type { TrainerMetrics } from '../observability/trainer-metrics';
import { decidePromotion } from '../promotion/promotion-gate';
import { runGridSearch, type SweepData, type TrialResult } from '../sweep/grid-search';
import { describeTrial, type JobPlan } from '../sweep/job-plan';
import type { TensorFlowHandle } from '../training/tf-backend';
import { carveStratifiedHoldout } from '../training/validation-split';
import { defaultModelName } from './model-naming';
import type { TrainerConfigValues } from '../trainer.config';
import { JobRejectedError } from './job-errors';
import type { RunReporter } from './run-reporter';

export interface JobContext {
  job: TrainRequested;
  jobId: string;
  parentRunId: string;
  plan: JobPlan;
  version: DatasetVersionInfo;
  seed: number;
  handle: TensorFlowHandle;
  reporter: RunReporter;
  config: TrainerConfigValues;
  data: DataClient;
  registry: RegistryClient;
  metrics: TrainerMetrics;
  track(change: (job: JobStatusView) => void): void;
  log(message: string): void;
}

/**
 * The job once its parent run has started: read the splits, sweep the grid on train/validation, evaluate the selected
 * model once on test, export to ONNX and check it, register, apply the gate, finish the parent run. Resolves with a
 * one-line summary; throws (JobRejectedError when permanent) and the caller records the failure.
 */
export async function trainSelectAndRegister(ctx: JobContext): Promise<string> {
  const { job, version, plan, reporter, parentRunId, config } = ctx;
  const labels = version.schema.labels;
  const featureNames = version.schema.features;
  const [train, test] = await Promise.all([
    ctx.data.rows(job.dataset, version.id, 'train'),
    ctx.data.rows(job.dataset, version.id, 'test'),
  ]);
  const sweepData = carveValidation(train, test, labels, featureNames, config, ctx.seed);

  ctx.track((s) => {
    s.trials = plan.trials.map((params, index) => ({
      index,
      runId: '',
      params: trialParams(params),
      status: 'pending',
      epoch: 0,
      epochs: params.epochs,
      valAccuracy: null,
      valLoss: null,
      bestEpoch: null,
    }));
  });
  ctx.metrics.trials.set({ dataset: job.dataset }, plan.trials.length);

  let currentChild: string | null = null;
  let bestSoFar = 0;
  const outcome = await runGridSearch(plan.trials, sweepData, ctx.seed, ctx.handle, {
    onTrialStart: async (index, params) => {
      currentChild = randomUUID();
      const runId = currentChild;
      await reporter.started({
        runId,
        parentRunId,
        runName: `trial ${index + 1}/${plan.trials.length}: ${describeTrial(params, plan.grid)}`,
        params: { ...trialParams(params), seed: ctx.seed },
        tags: { job_id: ctx.jobId, role: 'trial', trial: String(index + 1) },
      });
      ctx.track((s) => Object.assign(s.trials[index], { runId, status: 'running' }));
    },
    onEpoch: async (index, m) => {
      if (currentChild === null) return;
      await reporter.progress(currentChild, m.epoch, {
        epoch: m.epoch,
        loss: m.loss,
        accuracy: m.accuracy,
        val_loss: m.valLoss,
        val_accuracy: m.valAccuracy,
      });
      ctx.track((s) =>
        Object.assign(s.trials[index], { epoch: m.epoch, valAccuracy: m.valAccuracy, valLoss: m.valLoss }),
      );
    },
    onTrialEnd: async (result) => {
      const runId = currentChild;
      currentChild = null;
      if (runId === null) return;
      await reporter.finished(runId, {
        status: result.status,
        metrics: trialMetrics(result),
        tags: { stopped_early: String(result.stoppedEarly) },
        ...(result.error !== undefined ? { error: result.error } : {}),
      });
      if (result.status === 'finished') bestSoFar = Math.max(bestSoFar, result.valAccuracy);
      await reporter.progress(parentRunId, result.index + 1, {
        trials_done: result.index + 1,
        best_val_accuracy: bestSoFar,
      });
      ctx.track((s) =>
        Object.assign(s.trials[result.index], {
          status: result.status,
          epoch: result.epochsRun,
          valAccuracy: result.status === 'finished' ? result.valAccuracy : null,
          valLoss: result.status === 'finished' ? result.valLoss : null,
          bestEpoch: result.status === 'finished' ? result.bestEpoch : null,
        }),
      );
    },
  }).catch(async (error: unknown) => {
    if (currentChild !== null) {
      await reporter.finished(currentChild, {
        status: 'failed',
        error: String((error as Error)?.message ?? error),
      });
    }
    throw error;
  });

  const { best, model } = outcome;
  if (best === null || model === null) {
    const reasons = [...new Set(outcome.trials.map((trial) => trial.error))].join('; ');
    throw new JobRejectedError(`every trial failed: ${reasons}`);
  }
  try {
    ctx.metrics.bestValAccuracy.set({ dataset: job.dataset }, best.valAccuracy);
    ctx.track((s) => (s.selectedTrial = best.index));
    ctx.log(
      `selected trial ${best.index + 1} (${describeTrial(best.params, plan.grid)}), val_accuracy ${best.valAccuracy}`,
    );

    // The only time the test split is used: the selected model, once.
    const probabilities = await model.predictProba(test.features);
    const evaluation = evaluateOnTest(probabilities, test.labels, labels);
    ctx.metrics.testAccuracy.set({ dataset: job.dataset }, evaluation.report.accuracy);
    ctx.track((s) => (s.testMetrics = evaluation.metrics));

    const modelName = job.modelName ?? defaultModelName(job.dataset);
    const bytes = exportDenseClassifierToOnnx(
      model.spec,
      encodeOnnxMetadata({
        modelName,
        labels,
        featureNames,
        dataset: job.dataset,
        datasetVersion: version.id,
        runId: parentRunId,
        // Per feature, in feature order: PSI bins fitted on the raw training split, so the gateway can measure drift.
        featureReference: featureReferences(train, featureNames.length),
      }),
    );
    const parity = await checkOnnxParity(bytes, test.features, probabilities, config.PARITY_TOLERANCE);
    const parityMetrics = {
      onnx_parity_max_abs_diff: parity.maxAbsDifference,
      onnx_parity_label_mismatches: parity.labelMismatches,
    };
    if (!parity.passed) {
      await reporter.progress(parentRunId, plan.trials.length, parityMetrics);
      throw new JobRejectedError(parity.reason ?? 'ONNX parity check failed');
    }
    const sha256 = createHash('sha256').update(bytes).digest('hex');

    const selectedMetrics = {
      ...evaluation.metrics,
      ...parityMetrics,
      val_accuracy: best.valAccuracy,
      val_loss: best.valLoss,
      selected_trial: best.index + 1,
      // Final values of the sweep's progress metrics: the registry copies the run's metrics into the version, and
      // progress events still in flight must not leave an earlier value there.
      trials_done: plan.trials.length,
      best_val_accuracy: best.valAccuracy,
    };
    // Recorded before the registry is involved: if it stays down, the run still shows what was trained.
    await reporter.progress(parentRunId, plan.trials.length, selectedMetrics);

    const artifact = await ctx.registry.uploadArtifact(bytes, sha256);
    const registered = await ctx.registry.registerVersion(modelName, {
      runId: parentRunId,
      sha256,
      signature: {
        inputs: [{ name: 'features', dtype: 'float32', shape: [-1, featureNames.length] }],
        outputs: [
          { name: 'probabilities', dtype: 'float32', shape: [-1, labels.length] },
          { name: 'label', dtype: 'int64', shape: [-1] },
        ],
        features: featureNames,
        labels,
        dataset: job.dataset,
        datasetVersion: version.id,
      },
      metrics: selectedMetrics,
      description: `${job.dataset} v${version.seq}, ${describeTrial(best.params, plan.grid)}, job ${ctx.jobId}`,
    });
    await reporter.registered({
      modelName,
      version: registered.version,
      runId: parentRunId,
      sha256,
      artifactUrl: artifact.url,
      metrics: selectedMetrics,
    });

    const champion = await ctx.registry.champion(modelName);
    const championScore = champion && (await scoreChampionOnThisSplit(ctx, champion, test, version.id));
    const decision = decidePromotion(
      { version: registered.version, testAccuracy: evaluation.report.accuracy, datasetVersion: version.id },
      champion && { version: champion.version, ...championScore! },
      { minImprovement: config.GATE_MIN_IMPROVEMENT, minAccuracy: config.GATE_MIN_ACCURACY },
    );
    await ctx.registry.setAlias(modelName, decision.alias, {
      version: registered.version,
      reason: decision.reason,
      by: 'trainer-gate',
    });
    const gateDecision = decision.promote ? 'promoted' : 'challenger';
    ctx.track((s) => Object.assign(s, { modelName, modelVersion: registered.version, gateDecision }));

    await reporter.finished(parentRunId, {
      status: 'finished',
      metrics: selectedMetrics,
      tags: {
        ...evaluation.tags,
        gate_decision: gateDecision,
        gate_reason: decision.reason,
        model_name: modelName,
        model_version: String(registered.version),
        onnx_sha256: sha256,
        selected_params: JSON.stringify(trialParams(best.params)),
      },
    });
    ctx.track((s) => (s.state = 'finished'));
    return (
      `${modelName} v${registered.version} ${gateDecision} (test_accuracy ${evaluation.report.accuracy.toFixed(4)}, ` +
      `parity ${parity.maxAbsDifference.toExponential(2)}): ${decision.reason}`
    );
  } finally {
    model.dispose();
  }
}

/**
 * The champion's test accuracy on the candidate's own test split (its ONNX artifact run in onnxruntime), so the gate
 * compares both on the same rows; if the artifact cannot be had, its recorded metric, and the gate's reason says so.
 */
async function scoreChampionOnThisSplit(
  ctx: JobContext,
  champion: ChampionView,
  test: SplitRows,
  datasetVersion: string,
): Promise<{ testAccuracy: number | undefined; datasetVersion: string | undefined }> {
  try {
    const bytes = await ctx.registry.downloadArtifact(champion.sha256);
    return { testAccuracy: await onnxAccuracy(bytes, test.features, test.labels), datasetVersion };
  } catch (error) {
    ctx.log(
      `champion v${champion.version} not re-evaluated (${(error as Error).message}); using its recorded metrics`,
    );
    const recorded = champion.signature?.datasetVersion;
    return {
      testAccuracy: champion.metrics.test_accuracy,
      datasetVersion: typeof recorded === 'string' ? recorded : undefined,
    };
  }
}

const PSI_REFERENCE_BINS = 10;

/** PSI reference bins of each raw feature column of the training split (train only: the test split stays unseen). */
export function featureReferences(train: SplitRows, width: number): PsiReference[] {
  return Array.from({ length: width }, (_, column) =>
    fitPsiReference(
      train.features.map((row) => row[column]),
      PSI_REFERENCE_BINS,
    ),
  );
}

/** The validation rows are carved from train (stratified, seeded); a split too small for that rejects the job. */
function carveValidation(
  train: SplitRows,
  test: SplitRows,
  labels: string[],
  featureNames: string[],
  config: TrainerConfigValues,
  seed: number,
): SweepData {
  const problems: string[] = [];
  if (train.labels.length < config.MIN_TRAIN_ROWS) {
    problems.push(
      `the training split has ${train.labels.length} rows, at least ${config.MIN_TRAIN_ROWS} are needed`,
    );
  }
  if (test.labels.length === 0) problems.push('the test split is empty');
  const present = new Set(train.labels);
  if (present.size < 2)
    problems.push(`the training split has ${present.size} class(es), at least 2 are needed`);
  const { fit, holdout } = carveStratifiedHoldout(train.labels, config.VALIDATION_FRACTION, seed);
  const fitClasses = new Set(fit.map((row) => train.labels[row]));
  if (problems.length === 0 && (holdout.length === 0 || fitClasses.size < present.size)) {
    problems.push(
      `the training split (${train.labels.length} rows) is too small to hold out ${config.VALIDATION_FRACTION} ` +
        'of each class for validation',
    );
  }
  if (problems.length > 0)
    throw new JobRejectedError(`dataset too small for the split: ${problems.join('; ')}`);
  return {
    xFit: fit.map((row) => train.features[row]),
    yFit: fit.map((row) => train.labels[row]),
    xVal: holdout.map((row) => train.features[row]),
    yVal: holdout.map((row) => train.labels[row]),
    labels,
    featureNames,
  };
}

function trialParams(params: TrainingParams): Record<string, string | number | boolean> {
  return { ...params };
}

function trialMetrics(result: TrialResult): Record<string, number> {
  return result.status === 'finished'
    ? {
        val_accuracy: result.valAccuracy,
        val_loss: result.valLoss,
        best_epoch: result.bestEpoch,
        epochs_run: result.epochsRun,
        seconds: result.seconds,
      }
    : { seconds: result.seconds };
}
