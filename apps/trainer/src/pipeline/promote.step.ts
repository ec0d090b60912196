import type { TrialParams } from '@sepal/ml';
import type { RunReporter } from '../jobs/run-reporter';
import type { GateDecision } from '../promotion/promotion-gate';
import type { ModelRegistry, TrackJob } from './pipeline-ports';
import type { PipelineStep, StepSummary } from './step-runner';
import { trialParams } from './train-trials.step';

export interface PromoteInput {
  parentRunId: string;
  run: Pick<RunReporter, 'finished'>;
  modelName: string;
  version: number;
  sha256: string;
  decision: GateDecision;
  /** The parent run's final metrics. */
  metrics: Record<string, number>;
  /** The test evaluation's tags (the confusion matrix). */
  evaluationTags: Record<string, string>;
  selectedParams: TrialParams;
}

export interface Promoted {
  modelName: string;
  version: number;
  alias: GateDecision['alias'];
  gateDecision: 'promoted' | 'challenger';
}

export interface PromoteDeps {
  registry: Pick<ModelRegistry, 'setAlias'>;
  track: TrackJob;
}

/**
 * Gives the new version the alias the gate chose (champion: promoted, announced by the registry; challenger: the
 * champion stays), then closes the parent run as finished with the outcome.
 */
export class PromoteStep implements PipelineStep<PromoteInput, Promoted> {
  readonly id = 'promote';

  constructor(private readonly deps: PromoteDeps) {}

  async run(input: PromoteInput): Promise<Promoted> {
    const { modelName, version, decision } = input;
    await this.deps.registry.setAlias(modelName, decision.alias, {
      version,
      // The audit records the trainer's key as the actor; the reason says it was the gate.
      reason: decision.reason,
    });
    const gateDecision = decision.promote ? 'promoted' : 'challenger';
    this.deps.track((s) => Object.assign(s, { modelName, modelVersion: version, gateDecision }));
    await input.run.finished(input.parentRunId, {
      status: 'finished',
      metrics: input.metrics,
      tags: {
        ...input.evaluationTags,
        gate_decision: gateDecision,
        gate_reason: decision.reason,
        model_name: modelName,
        model_version: String(version),
        onnx_sha256: input.sha256,
        selected_params: JSON.stringify(trialParams(input.selectedParams)),
      },
    });
    return { modelName, version, alias: decision.alias, gateDecision };
  }

  summarize({ modelName, version, alias }: Promoted): StepSummary {
    return { modelName, modelVersion: version, alias };
  }
}
