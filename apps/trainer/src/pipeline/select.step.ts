import { JobRejectedError } from '../jobs/job-errors';
import type { TrainerMetrics } from '../metrics/trainer-metrics.service';
import type { SweepOutcome, TrialResult } from '../sweep/grid-search';
import { describeTrial, type JobPlan } from '../sweep/job-plan';
import type { TrainedTrial } from '../workers/trial-trainer.service';
import type { KeptTrials } from './kept-trial';
import type { TrackJob } from './pipeline-ports';
import type { PipelineStep, StepSummary } from './step-runner';

export interface SelectInput {
  dataset: string;
  plan: JobPlan;
  outcome: SweepOutcome;
  /** The test rows whose probabilities the selected model has (kept with it for a retry). */
  testRows?: number[][];
}

export interface Selected {
  trial: TrialResult;
  /** The selected trial's model; the pipeline disposes it when the job is done with it. */
  model: TrainedTrial;
  /** The parameters the grid varies, as the trial's name shows them (e.g. `learningRate=0.01 hiddenUnits=8`). */
  description: string;
  /** The SHA-256 of the trial kept in the artifact store for a retry, if it could be kept. */
  keptSha256?: string | null;
  /** The attempt whose selection a resumed attempt reuses. */
  reusedFromAttempt?: number;
}

export interface SelectDeps {
  metrics: Pick<TrainerMetrics, 'bestValAccuracy'>;
  track: TrackJob;
  /**
   * Keeps the selected trial durably (model and test probabilities) so a retry can resume after this step; answers its
   * SHA-256, or null if it could not be kept (the retry then trains again).
   */
  keep?: (selected: Selected, testRows: number[][]) => Promise<string | null>;
}

/**
 * Keeps the sweep's best trial (on validation rows only, see isBetterTrial). A sweep whose every trial failed rejects
 * the job with their reasons.
 */
export class SelectStep implements PipelineStep<SelectInput, Selected> {
  readonly id = 'select';

  constructor(private readonly deps: SelectDeps) {}

  async run({ dataset, plan, outcome, testRows }: SelectInput): Promise<Selected> {
    const { best, model } = outcome;
    if (best === null || model === null) {
      const reasons = [...new Set(outcome.trials.map((trial) => trial.error))].join('; ');
      throw new JobRejectedError(`every trial failed: ${reasons}`);
    }
    if (best.valRmse === undefined) this.deps.metrics.bestValAccuracy.set({ dataset }, best.valAccuracy);
    this.deps.track((s) => (s.selectedTrial = best.index));
    const selected: Selected = { trial: best, model, description: describeTrial(best.params, plan.grid) };
    if (!testRows || !this.deps.keep) return selected;
    return { ...selected, keptSha256: await this.deps.keep(selected, testRows) };
  }

  summarize(selected: Selected): StepSummary {
    return selectionSummary(selected);
  }
}

export function selectionSummary({
  trial,
  description,
  keptSha256,
  reusedFromAttempt,
}: Selected): StepSummary {
  return {
    selected_trial: trial.index + 1,
    params: description,
    ...(trial.valRmse !== undefined ? { val_rmse: trial.valRmse } : { val_accuracy: trial.valAccuracy }),
    ...(trial.folds !== undefined ? { cv_folds: trial.folds } : {}),
    ...(keptSha256 ? { selected_trial_sha256: keptSha256 } : {}),
    ...(reusedFromAttempt !== undefined ? { reused_from_attempt: reusedFromAttempt } : {}),
  };
}

export interface ReuseSelectedInput {
  sha256: string;
  fromAttempt: number;
}

/**
 * The select step of a resumed attempt: the trial an earlier attempt selected, read back from the artifact store, with
 * its model and the TensorFlow.js probabilities of the test split (so evaluation and the parity check need no
 * TensorFlow.js at all).
 */
export class ReuseSelectedStep implements PipelineStep<ReuseSelectedInput, Selected> {
  readonly id = 'select';

  constructor(private readonly kept: Pick<KeptTrials, 'load'>) {}

  async run({ sha256, fromAttempt }: ReuseSelectedInput): Promise<Selected> {
    const { trial, description, spec, testProbabilities } = await this.kept.load(sha256);
    return {
      trial,
      description,
      keptSha256: sha256,
      reusedFromAttempt: fromAttempt,
      model: {
        family: 'dense',
        spec,
        history: [],
        stoppedEarly: trial.stoppedEarly,
        bestEpoch: trial.bestEpoch,
        predictProba: async () => testProbabilities,
        dispose: () => undefined,
      },
    };
  }

  summarize(selected: Selected): StepSummary {
    return selectionSummary(selected);
  }
}
