import { refitTrialParams, type TrialParams } from '@sepal/ml';
import { allTrainRows } from '../sweep/cross-validation';
import { trainTrial, type SweepData } from '../sweep/grid-search';
import { describeTrial, type JobPlan } from '../sweep/job-plan';
import type { TrialTrainer } from '../workers/trial-trainer.service';
import type { Selected } from './select.step';
import type { PipelineStep, StepSummary } from './step-runner';

export interface RefitInput {
  jobId: string;
  plan: JobPlan;
  selected: Selected;
  /** The sweep's rows: the refit trains on its fit and validation rows together. */
  sweep: SweepData;
  seed: number;
  /** The test rows encoded for networks (a tree trial scores the sweep's tree-encoded test rows). */
  testRows: number[][];
  signal?: AbortSignal;
}

/** What the refit trained, for its step summary and the parent run's metrics. */
export interface RefitFigures {
  rows: number;
  seconds: number;
  /** The refit's parameters, as the trial's name shows the grid's (e.g. `model=gbdt rounds=42`). */
  params: string;
  /** Epochs of a network, rounds of a boosted ensemble, trees of a forest. */
  steps: number;
  /** Weights and biases of a network, nodes of a tree ensemble. */
  parameterCount: number;
}

export interface Refitted {
  /** The selection with the refit model in place of the trial's (whose model the step disposed). */
  selected: Selected;
  figures: RefitFigures;
}

/**
 * scikit-learn's refit: the selected configuration is trained again on the fit and validation rows together before
 * the single test evaluation, with what early stopping chose fixed (refitTrialParams). Its model replaces the
 * selected trial's; the selection itself (the trial and its validation figures) is unchanged.
 */
export class RefitStep implements PipelineStep<RefitInput, Refitted> {
  readonly id = 'refit';

  constructor(private readonly deps: { trainer: TrialTrainer }) {}

  async run({ jobId, plan, selected, sweep, seed, testRows, signal }: RefitInput): Promise<Refitted> {
    const params: TrialParams = refitTrialParams(selected.trial.params, selected.trial.bestEpoch);
    const { crossValidation: _folds, ...data } = allTrainRows(sweep);
    const started = performance.now();
    const { result, trained } = await trainTrial({
      index: selected.trial.index,
      params,
      data,
      seed,
      trainer: this.deps.trainer,
      hooks: { signal, jobId },
      predictRows: testRows,
    });
    if (result.status !== 'finished' || trained === null) {
      throw new Error(
        `the refit of the selected trial on ${data.yFit.length} rows failed: ${result.error ?? 'no model'}`,
      );
    }
    selected.model.dispose();
    const figures: RefitFigures = {
      rows: data.yFit.length,
      seconds: (performance.now() - started) / 1000,
      params: describeRefit(params, plan),
      steps: result.epochsRun,
      parameterCount: result.parameterCount,
    };
    const trial = {
      ...selected.trial,
      ...(result.featureImportance ? { featureImportance: result.featureImportance } : {}),
    };
    return { selected: { ...selected, trial, model: trained }, figures };
  }

  summarize({ figures }: Refitted): StepSummary {
    return refitSummary(figures);
  }
}

export function refitSummary(figures: RefitFigures): StepSummary {
  return {
    rows: figures.rows,
    params: figures.params,
    steps: figures.steps,
    parameters: figures.parameterCount,
    seconds: Math.round(figures.seconds * 1000) / 1000,
  };
}

/** The parent run's metrics of the refit. */
export function refitMetrics(figures: RefitFigures | null): Record<string, number> {
  if (figures === null) return {};
  return { refit_rows: figures.rows, refit_seconds: figures.seconds, refit_steps: figures.steps };
}

/** The grid's varied parameters and what the refit fixed (a network's epochs, a boosted ensemble's rounds). */
function describeRefit(params: TrialParams, plan: JobPlan): string {
  const described = describeTrial(params, plan.grid);
  const fixed =
    params.model === 'dense' || params.model === 'cnn'
      ? `epochs=${params.epochs}`
      : params.model === 'gbdt'
        ? `rounds=${params.rounds}`
        : '';
  return fixed === '' || described.includes(fixed.split('=')[0] + '=')
    ? described
    : `${described} ${fixed}`.trim();
}
