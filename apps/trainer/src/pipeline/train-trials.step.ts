import { randomUUID } from 'node:crypto';
import { FEATURE_IMPORTANCE_PREFIX } from '@sepal/contracts';
import type { BoostingRoundMetrics, TrialParams } from '@sepal/ml';
import type { EpochMetrics } from '../training/training-input';
import { errorMessage } from '../jobs/job-errors';
import type { RunReporter } from '../jobs/run-reporter';
import type { TrainerMetrics } from '../metrics/trainer-metrics.service';
import {
  runGridSearch,
  validationRegressionMetrics,
  type SweepData,
  type SweepOutcome,
  type TrialResult,
} from '../sweep/grid-search';
import { describeTrial, type JobPlan } from '../sweep/job-plan';
import type { TrialTrainer } from '../workers/trial-trainer.service';
import type { TrackJob } from './pipeline-ports';
import type { PipelineStep, StepSummary } from './step-runner';

export interface TrainTrialsInput {
  jobId: string;
  parentRunId: string;
  dataset: string;
  seed: number;
  plan: JobPlan;
  sweep: SweepData;
  /** The test rows: each trial returns their probabilities, so the selected one is evaluated without retraining. */
  testRows: number[][];
  run: RunReporter;
  signal?: AbortSignal;
}

export interface TrainTrialsDeps {
  metrics: Pick<TrainerMetrics, 'trials'>;
  track: TrackJob;
  trainer: TrialTrainer;
}

/**
 * Trains every trial of the grid on the fit rows and scores it on the validation rows. Each trial is a child run
 * (params, per-epoch metrics, final validation metrics); the parent run counts the trials done and the best
 * validation accuracy so far, and the job's status follows each trial's epochs.
 */
export class TrainTrialsStep implements PipelineStep<TrainTrialsInput, SweepOutcome> {
  readonly id = 'train-trials';

  constructor(private readonly deps: TrainTrialsDeps) {}

  async run(input: TrainTrialsInput): Promise<SweepOutcome> {
    const { jobId, parentRunId, dataset, seed, plan, run } = input;
    const { track } = this.deps;
    track((s) => {
      s.trials = plan.trials.map((params, index) => ({
        index,
        runId: '',
        params: trialParams(params),
        status: 'pending',
        epoch: 0,
        epochs: plannedSteps(params),
        valAccuracy: null,
        valLoss: null,
        bestEpoch: null,
      }));
    });
    this.deps.metrics.trials.set({ dataset }, plan.trials.length);

    // Trials run side by side (one per worker): each has its own child run.
    const children = new Map<number, string>();
    let bestSoFar = 0;
    let bestRmse = Number.POSITIVE_INFINITY;
    let done = 0;
    const hooks = {
      signal: input.signal,
      jobId,
      onTrialStart: async (index: number, params: TrialParams) => {
        const runId = randomUUID();
        children.set(index, runId);
        await run.started({
          runId,
          parentRunId,
          runName: `trial ${index + 1}/${plan.trials.length}: ${describeTrial(params, plan.grid)}`,
          params: { ...trialParams(params), seed },
          tags: { job_id: jobId, role: 'trial', trial: String(index + 1) },
        });
        track((s) => Object.assign(s.trials[index], { runId, status: 'running' }));
      },
      onEpoch: async (index: number, m: EpochMetrics) => {
        const runId = children.get(index);
        if (runId === undefined) return;
        await run.progress(
          runId,
          m.epoch,
          m.valRmse !== undefined
            ? { epoch: m.epoch, loss: m.loss, val_loss: m.valLoss, val_rmse: m.valRmse }
            : {
                epoch: m.epoch,
                loss: m.loss,
                accuracy: m.accuracy,
                val_loss: m.valLoss,
                val_accuracy: m.valAccuracy,
              },
        );
        track((s) =>
          Object.assign(s.trials[index], { epoch: m.epoch, valAccuracy: m.valAccuracy, valLoss: m.valLoss }),
        );
      },
      onTrialEnd: async (result: TrialResult) => {
        const runId = children.get(result.index);
        children.delete(result.index);
        if (runId === undefined) return;
        // A boosted ensemble's validation metrics per round, at step = round (TensorFlow.js trials report epochs live).
        // Sent in a burst just before run.finished, so the final metrics go one step after the last round: the
        // registry may apply a round after the finish, and the best round's figures must stay the latest.
        const rounds = result.rounds ?? [];
        for (const round of rounds) {
          await run.progress(runId, round.round, roundMetrics(round));
        }
        const lastRound = rounds.reduce((last, round) => Math.max(last, round.round), 0);
        await run.finished(runId, {
          ...(rounds.length > 0 ? { step: lastRound + 1 } : {}),
          status: result.status,
          metrics: {
            ...trialMetrics(result),
            ...importanceMetrics(result.featureImportance, columnNames(input.sweep)),
          },
          tags: {
            stopped_early: String(result.stoppedEarly),
            ...(result.worker !== undefined ? { trainer_replica: result.worker } : {}),
          },
          ...(result.error !== undefined ? { error: result.error } : {}),
        });
        done++;
        if (result.valRmse !== undefined) {
          if (result.status === 'finished') bestRmse = Math.min(bestRmse, result.valRmse);
          await run.progress(parentRunId, done, {
            trials_done: done,
            ...(Number.isFinite(bestRmse) ? { best_val_rmse: bestRmse } : {}),
          });
        } else {
          if (result.status === 'finished') bestSoFar = Math.max(bestSoFar, result.valAccuracy);
          await run.progress(parentRunId, done, {
            trials_done: done,
            best_val_accuracy: bestSoFar,
          });
        }
        const finished = result.status === 'finished';
        track((s) =>
          Object.assign(s.trials[result.index], {
            status: result.status,
            epoch: result.epochsRun,
            valAccuracy: finished ? result.valAccuracy : null,
            valLoss: finished ? result.valLoss : null,
            bestEpoch: finished ? result.bestEpoch : null,
          }),
        );
      },
    };
    return runGridSearch(
      plan.trials,
      input.sweep,
      seed,
      this.deps.trainer,
      hooks,
      input.testRows,
      plan.budgetSeconds,
    ).catch(async (error: unknown) => {
      // Trials in progress when the sweep stopped: killed when it was cancelled, else failed; the parent run is
      // the job's to close.
      const status = input.signal?.aborted ? 'killed' : 'failed';
      for (const runId of children.values())
        await run.finished(runId, { status, error: errorMessage(error) });
      throw error;
    });
  }

  summarize({ trials, best }: SweepOutcome): StepSummary {
    const finished = trials.filter((trial) => trial.status === 'finished').length;
    return {
      trials: trials.length,
      finished,
      failed: trials.length - finished,
      ...(best?.valRmse !== undefined
        ? { best_val_rmse: best.valRmse }
        : { best_val_accuracy: best?.valAccuracy ?? null }),
    };
  }
}

/** A trial's parameters (its family as `model`) as run params and status fields. */
export function trialParams(params: TrialParams): Record<string, string | number | boolean> {
  return { ...params };
}

/** Epochs of a dense trial, rounds of a boosted one, trees of a forest: the steps its progress counts. */
function plannedSteps(params: TrialParams): number {
  if (params.model === 'dense' || params.model === 'cnn') return params.epochs;
  return params.model === 'gbdt' ? params.rounds : params.trees;
}

/** A boosting round's metrics; a regressor's validation loss is the mean squared error, so its root is val_rmse. */
function roundMetrics(round: BoostingRoundMetrics): Record<string, number> {
  const metrics: Record<string, number> = { round: round.round, loss: round.trainLoss };
  if (round.validationLoss !== undefined) metrics.val_loss = round.validationLoss;
  if (round.validationAccuracy !== undefined) metrics.val_accuracy = round.validationAccuracy;
  if (round.validationMae !== undefined) {
    metrics.val_mae = round.validationMae;
    if (round.validationLoss !== undefined) metrics.val_rmse = Math.sqrt(round.validationLoss);
  }
  return metrics;
}

/** Feature importance (share of the split gain) as one metric per feature: `importance_<feature>`. */
export function importanceMetrics(
  importance: number[] | undefined,
  featureNames: string[],
): Record<string, number> {
  if (importance === undefined) return {};
  return Object.fromEntries(
    featureNames.map((name, index) => [`${FEATURE_IMPORTANCE_PREFIX}${name}`, importance[index] ?? 0]),
  );
}

function trialMetrics(result: TrialResult): Record<string, number> {
  if (result.status !== 'finished') return { seconds: result.seconds };
  const trees: Record<string, number> =
    result.params.model === 'dense'
      ? {}
      : result.params.model === 'cnn'
        ? { parameters: result.parameterCount }
        : { training_seconds: result.seconds, nodes: result.parameterCount };
  const common = {
    val_loss: result.valLoss,
    best_epoch: result.bestEpoch,
    epochs_run: result.epochsRun,
    seconds: result.seconds,
    ...trees,
    ...(result.folds !== undefined ? { cv_folds: result.folds } : {}),
  };
  if (result.valRmse !== undefined) {
    return { val_rmse: result.valRmse, ...validationRegressionMetrics(result), ...common };
  }
  return { val_accuracy: result.valAccuracy, ...common };
}

/** The raw columns' names, which a tree trial's importance is reported by (the encoded names without trees' rows). */
function columnNames(sweep: SweepData): string[] {
  return sweep.trees ? sweep.trees.preprocessing.columns.map((column) => column.name) : sweep.featureNames;
}
