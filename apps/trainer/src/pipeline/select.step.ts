import { JobRejectedError } from '../jobs/job-errors';
import type { TrainerMetrics } from '../observability/trainer-metrics';
import type { SweepOutcome, TrialResult } from '../sweep/grid-search';
import { describeTrial, type JobPlan } from '../sweep/job-plan';
import type { TrainedTrial } from '../workers/trial-trainer';
import type { TrackJob } from './pipeline-ports';
import type { PipelineStep, StepSummary } from './step-runner';

export interface SelectInput {
  dataset: string;
  plan: JobPlan;
  outcome: SweepOutcome;
}

export interface Selected {
  trial: TrialResult;
  /** The selected trial's model; the pipeline disposes it when the job is done with it. */
  model: TrainedTrial;
  /** The parameters the grid varies, as the trial's name shows them (e.g. `learningRate=0.01 hiddenUnits=8`). */
  description: string;
}

export interface SelectDeps {
  metrics: Pick<TrainerMetrics, 'bestValAccuracy'>;
  track: TrackJob;
}

/**
 * Keeps the sweep's best trial (on validation rows only, see isBetterTrial). A sweep whose every trial failed rejects
 * the job with their reasons.
 */
export class SelectStep implements PipelineStep<SelectInput, Selected> {
  readonly id = 'select';

  constructor(private readonly deps: SelectDeps) {}

  async run({ dataset, plan, outcome }: SelectInput): Promise<Selected> {
    const { best, model } = outcome;
    if (best === null || model === null) {
      const reasons = [...new Set(outcome.trials.map((trial) => trial.error))].join('; ');
      throw new JobRejectedError(`every trial failed: ${reasons}`);
    }
    if (best.valRmse === undefined) this.deps.metrics.bestValAccuracy.set({ dataset }, best.valAccuracy);
    this.deps.track((s) => (s.selectedTrial = best.index));
    return { trial: best, model, description: describeTrial(best.params, plan.grid) };
  }

  summarize({ trial, description }: Selected): StepSummary {
    return {
      selected_trial: trial.index + 1,
      params: description,
      ...(trial.valRmse !== undefined ? { val_rmse: trial.valRmse } : { val_accuracy: trial.valAccuracy }),
    };
  }
}
