import type { ModelGate } from '@sepal/contracts';
import type { SplitRows } from '../clients/data-client';
import type { ChampionView } from '../clients/registry-client';
import { onnxAccuracy, onnxRegressionMetrics } from '../evaluation/onnx-accuracy';
import { errorMessage } from '../jobs/job-errors';
import {
  accuracyGate,
  decideByGate,
  DEFAULT_REGRESSION_GATE,
  type GateDecision,
  type GatePolicy,
  type MetricChampion,
  type ModelGatePolicy,
} from '../promotion/promotion-gate';
import type { ModelRegistry } from './pipeline-ports';
import type { PipelineStep, StepSummary } from './step-runner';

export interface GateInput {
  modelName: string;
  /** The version just registered. */
  version: number;
  testAccuracy: number;
  datasetVersion: string;
  test: SplitRows;
  /** 'classification' when absent. */
  task?: 'classification' | 'regression';
  /** The candidate's parent-run test metrics; the model's gate picks its metric from them (test_accuracy if absent). */
  metrics?: Record<string, number>;
  /** A regressor's tolerance for test_within_tolerance, when the champion is re-evaluated. */
  tolerance?: number;
}

export interface GateOutcome {
  decision: GateDecision;
  /** The champion the candidate was compared with, if the model had one. */
  championVersion: number | null;
  /** The gate that decided: the model's own (set in the registry) or the defaults for its task. */
  gate?: ModelGatePolicy & { source: 'model' | 'default' };
}

export interface GateDeps {
  registry: Pick<ModelRegistry, 'champion' | 'downloadArtifact'> & Partial<Pick<ModelRegistry, 'gate'>>;
  /** A classifier's default gate (GATE_MIN_ACCURACY, GATE_MIN_IMPROVEMENT) when its model sets none. */
  policy: GatePolicy;
  log(message: string): void;
}

/**
 * Compares the new version with the model's champion on this job's test split (the champion's artifact re-run on it)
 * on the metric of the model's gate (its registry setting, else test_accuracy up for a classifier and test_rmse down
 * for a regressor) and decides which alias it gets; see decideByGate.
 */
export class GateStep implements PipelineStep<GateInput, GateOutcome> {
  readonly id = 'gate';

  constructor(private readonly deps: GateDeps) {}

  async run(input: GateInput): Promise<GateOutcome> {
    const gate = await this.gateOf(input);
    const champion = await this.deps.registry.champion(input.modelName);
    const scored = champion && (await this.scoreOnThisSplit(champion, input, gate.metric));
    const metrics = input.metrics ?? { test_accuracy: input.testAccuracy };
    const decision = decideByGate(
      { version: input.version, value: metrics[gate.metric], datasetVersion: input.datasetVersion },
      scored,
      gate,
    );
    return { decision, championVersion: champion?.version ?? null, gate };
  }

  summarize({ decision, championVersion, gate }: GateOutcome): StepSummary {
    return {
      alias: decision.alias,
      champion_version: championVersion,
      reason: decision.reason,
      ...(gate ? { metric: gate.metric, direction: gate.direction, gate: gate.source } : {}),
    };
  }

  private async gateOf(input: GateInput): Promise<ModelGatePolicy & { source: 'model' | 'default' }> {
    const own: ModelGate | null = this.deps.registry.gate
      ? await this.deps.registry.gate(input.modelName)
      : null;
    if (own) return { ...own, source: 'model' };
    const defaults = input.task === 'regression' ? DEFAULT_REGRESSION_GATE : accuracyGate(this.deps.policy);
    return { ...defaults, source: 'default' };
  }

  /**
   * The champion's metric on the candidate's own test split (its ONNX artifact run in onnxruntime), so the gate
   * compares both on the same rows; if the artifact cannot be had or scored, its recorded metric, and the reason says
   * so.
   */
  private async scoreOnThisSplit(
    champion: ChampionView,
    input: GateInput,
    metric: string,
  ): Promise<MetricChampion> {
    const { test, datasetVersion } = input;
    try {
      const bytes = await this.deps.registry.downloadArtifact(champion.sha256);
      const metrics =
        input.task === 'regression'
          ? await onnxRegressionMetrics(bytes, test.features, test.labels, input.tolerance ?? 0.5)
          : { test_accuracy: await onnxAccuracy(bytes, test.features, test.labels) };
      if (metrics[metric] === undefined) throw new Error(`${metric} is not re-evaluated by the gate`);
      return { version: champion.version, value: metrics[metric], datasetVersion };
    } catch (error) {
      this.deps.log(
        `champion v${champion.version} not re-evaluated (${errorMessage(error)}); using its recorded metrics`,
      );
      const recorded = champion.signature?.datasetVersion;
      return {
        version: champion.version,
        value: champion.metrics[metric],
        datasetVersion: typeof recorded === 'string' ? recorded : undefined,
      };
    }
  }
}
