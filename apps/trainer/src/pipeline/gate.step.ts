import type { SplitRows } from '../clients/data-client';
import type { ChampionView } from '../clients/registry-client';
import { onnxAccuracy } from '../evaluation/onnx-accuracy';
import { errorMessage } from '../jobs/job-errors';
import {
  decidePromotion,
  type GateChampion,
  type GateDecision,
  type GatePolicy,
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
}

export interface GateOutcome {
  decision: GateDecision;
  /** The champion the candidate was compared with, if the model had one. */
  championVersion: number | null;
}

export interface GateDeps {
  registry: Pick<ModelRegistry, 'champion' | 'downloadArtifact'>;
  policy: GatePolicy;
  log(message: string): void;
}

/**
 * Compares the new version with the model's champion on this job's test split (the champion's artifact re-run on it)
 * and decides which alias it gets; see decidePromotion.
 */
export class GateStep implements PipelineStep<GateInput, GateOutcome> {
  readonly id = 'gate';

  constructor(private readonly deps: GateDeps) {}

  async run(input: GateInput): Promise<GateOutcome> {
    const champion = await this.deps.registry.champion(input.modelName);
    const scored = champion && (await this.scoreOnThisSplit(champion, input.test, input.datasetVersion));
    const decision = decidePromotion(
      { version: input.version, testAccuracy: input.testAccuracy, datasetVersion: input.datasetVersion },
      scored,
      this.deps.policy,
    );
    return { decision, championVersion: champion?.version ?? null };
  }

  summarize({ decision, championVersion }: GateOutcome): StepSummary {
    return { alias: decision.alias, champion_version: championVersion, reason: decision.reason };
  }

  /**
   * The champion's test accuracy on the candidate's own test split (its ONNX artifact run in onnxruntime), so the
   * gate compares both on the same rows; if the artifact cannot be had, its recorded metric, and the reason says so.
   */
  private async scoreOnThisSplit(
    champion: ChampionView,
    test: SplitRows,
    datasetVersion: string,
  ): Promise<GateChampion> {
    try {
      const bytes = await this.deps.registry.downloadArtifact(champion.sha256);
      return {
        version: champion.version,
        testAccuracy: await onnxAccuracy(bytes, test.features, test.labels),
        datasetVersion,
      };
    } catch (error) {
      this.deps.log(
        `champion v${champion.version} not re-evaluated (${errorMessage(error)}); using its recorded metrics`,
      );
      const recorded = champion.signature?.datasetVersion;
      return {
        version: champion.version,
        testAccuracy: champion.metrics.test_accuracy,
        datasetVersion: typeof recorded === 'string' ? recorded : undefined,
      };
    }
  }
}
