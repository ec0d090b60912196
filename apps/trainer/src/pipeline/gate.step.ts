import type { ModelGate } from '@sepal/contracts';
import { ServiceCallError } from '@sepal/http-client';
import type { SplitRows } from '../clients/data-client';
import type { ChampionView } from '../clients/registry-client';
import { onnxAccuracy, onnxRegressionMetrics } from '../evaluation/onnx-accuracy';
import { errorMessage } from '../jobs/job-errors';
import {
  accuracyGate,
  applyPromotionPolicy,
  decideByGate,
  DEFAULT_REGRESSION_GATE,
  type GateDecision,
  type GatePolicy,
  type JobTrigger,
  type MetricCandidate,
  type MetricChampion,
  type ModelGatePolicy,
  type PromotionPolicy,
} from '../promotion/promotion-gate';
import type { EvaluationSets, ModelRegistry } from './pipeline-ports';
import type { PipelineStep, StepSummary } from './step-runner';

export interface GateInput {
  modelName: string;
  /** The dataset the candidate was trained on (whose frozen evaluation set decides). */
  dataset?: string;
  /** The candidate's ONNX export, scored on the frozen evaluation set. */
  candidateBytes?: Uint8Array;
  /** Why the job ran: under PROMOTION_POLICY=approval only a manual job replaces a champion by itself. */
  trigger?: JobTrigger;
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
  /** The rows both were scored on: the model's frozen evaluation set, or (no set) the candidate's test split. */
  evaluation?: { on: 'frozen-set' | 'test-split'; rows: number; baseVersion?: string };
  /** Set when the candidate beat the champion but PROMOTION_POLICY=approval keeps it the challenger. */
  awaitingApproval?: boolean;
}

export interface GateDeps {
  registry: Pick<ModelRegistry, 'champion' | 'downloadArtifact'> & Partial<Pick<ModelRegistry, 'gate'>>;
  /** A classifier's default gate (GATE_MIN_ACCURACY, GATE_MIN_IMPROVEMENT) when its model sets none. */
  policy: GatePolicy;
  /** The frozen evaluation sets; without them the champion is re-scored on the candidate's test split. */
  evaluationSets?: EvaluationSets;
  /** PROMOTION_POLICY: 'automatic' when absent. */
  promotionPolicy?: PromotionPolicy;
  log(message: string): void;
}

const short = (id: string) => id.slice(0, 12);

/**
 * Decides which alias the new version gets, on the metric of the model's gate (its registry setting, else
 * test_accuracy up for a classifier and test_rmse down for a regressor; see decideByGate).
 *
 * With a champion, both are scored (their ONNX artifacts run in onnxruntime) on the model's frozen evaluation set:
 * the test rows of the dataset version of its first promotion, extended only by imports, never by feedback; the
 * data service freezes it on first use. So a retrain on poisoned feedback is measured on rows its sender cannot
 * reach. Without a frozen set (no data service port, an empty set, a metric the gate cannot compute from an artifact)
 * the champion is re-scored on the candidate's own test split, which holds no feedback either. A model's first
 * promotion freezes its set. Then PROMOTION_POLICY applies (see applyPromotionPolicy).
 */
export class GateStep implements PipelineStep<GateInput, GateOutcome> {
  readonly id = 'gate';

  constructor(private readonly deps: GateDeps) {}

  async run(input: GateInput): Promise<GateOutcome> {
    const gate = await this.gateOf(input);
    const champion = await this.deps.registry.champion(input.modelName);
    const compared =
      (champion && (await this.onFrozenSet(champion, input, gate.metric))) ??
      (await this.onTestSplit(champion, input, gate.metric));
    const gated = decideByGate(compared.candidate, compared.champion, gate);
    if (!champion && gated.promote) await this.freezeAtFirstPromotion(input);
    const decision = applyPromotionPolicy(gated, {
      policy: this.deps.promotionPolicy ?? 'automatic',
      trigger: input.trigger ?? 'manual',
      hasChampion: champion !== null,
      modelName: input.modelName,
      version: input.version,
    });
    return {
      decision: { promote: decision.promote, alias: decision.alias, reason: decision.reason },
      championVersion: champion?.version ?? null,
      gate,
      evaluation: compared.evaluation,
      ...(decision.awaitingApproval ? { awaitingApproval: true } : {}),
    };
  }

  /** Both scored on the model's frozen evaluation set; null when there is none to score on. */
  private async onFrozenSet(
    champion: ChampionView,
    input: GateInput,
    metric: string,
  ): Promise<Compared | null> {
    const { dataset, candidateBytes } = input;
    const sets = this.deps.evaluationSets;
    if (!sets || !dataset || !candidateBytes) return null;
    // Frozen at the champion's own dataset version when the model has no set yet (a champion from before sets);
    // at the candidate's when that version is not one of this dataset's (422).
    const recorded = champion.signature?.datasetVersion;
    const at = typeof recorded === 'string' && recorded.length === 64 ? recorded : input.datasetVersion;
    const set = await sets.evaluationSet(dataset, input.modelName, at).catch((error: unknown) => {
      if (!(error instanceof ServiceCallError && error.status === 422) || at === input.datasetVersion) {
        throw error;
      }
      return sets.evaluationSet(dataset, input.modelName, input.datasetVersion);
    });
    const rows = set.rows > 0 ? await sets.evaluationRows(dataset, input.modelName) : null;
    if (!rows || rows.labels.length === 0) {
      this.deps.log(`the frozen evaluation set of ${input.modelName} is empty; comparing on the test split`);
      return null;
    }
    const value = (await this.metricsOn(candidateBytes, rows, input))[metric];
    if (value === undefined) {
      this.deps.log(`${metric} cannot be computed from an artifact; comparing on the test split`);
      return null;
    }
    const basis =
      `on the frozen evaluation set (${rows.labels.length} rows, frozen at dataset version ` +
      `${short(set.baseVersion)}, extended only by imports)`;
    const scored = await this.scoreOn(champion, rows, input, metric, `frozen:${set.baseVersion}`);
    return {
      candidate: {
        version: input.version,
        value,
        datasetVersion: `frozen:${set.baseVersion}`,
        basis: scored.rescored ? basis : undefined,
      },
      champion: scored.champion,
      evaluation: { on: 'frozen-set', rows: rows.labels.length, baseVersion: set.baseVersion },
    };
  }

  /** The candidate's recorded test metric against the champion re-scored on the candidate's test split. */
  private async onTestSplit(
    champion: ChampionView | null,
    input: GateInput,
    metric: string,
  ): Promise<Compared> {
    const metrics = input.metrics ?? { test_accuracy: input.testAccuracy };
    const scored =
      champion && (await this.scoreOn(champion, input.test, input, metric, input.datasetVersion));
    return {
      candidate: { version: input.version, value: metrics[metric], datasetVersion: input.datasetVersion },
      champion: scored?.champion ?? null,
      evaluation: { on: 'test-split', rows: input.test.labels.length },
    };
  }

  /** A model's first promotion freezes its evaluation set at the candidate's dataset version. */
  private async freezeAtFirstPromotion(input: GateInput): Promise<void> {
    const sets = this.deps.evaluationSets;
    if (!sets || !input.dataset) return;
    const set = await sets.evaluationSet(input.dataset, input.modelName, input.datasetVersion);
    this.deps.log(
      `evaluation set of ${input.modelName}: ${set.rows} rows frozen at ${input.dataset} ${short(set.baseVersion)}`,
    );
  }

  summarize({ decision, championVersion, gate, evaluation, awaitingApproval }: GateOutcome): StepSummary {
    return {
      alias: decision.alias,
      champion_version: championVersion,
      reason: decision.reason,
      ...(gate ? { metric: gate.metric, direction: gate.direction, gate: gate.source } : {}),
      ...(evaluation
        ? {
            evaluated_on: evaluation.on,
            evaluation_rows: evaluation.rows,
            ...(evaluation.baseVersion ? { evaluation_set_base: evaluation.baseVersion } : {}),
          }
        : {}),
      ...(awaitingApproval ? { awaiting_approval: true } : {}),
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

  /** The metrics the gate can compute from an artifact on raw rows. */
  private async metricsOn(
    bytes: Uint8Array,
    rows: SplitRows,
    input: GateInput,
  ): Promise<Record<string, number>> {
    return input.task === 'regression'
      ? onnxRegressionMetrics(bytes, rows.features, rows.labels, input.tolerance ?? 0.5)
      : { test_accuracy: await onnxAccuracy(bytes, rows.features, rows.labels) };
  }

  /**
   * The champion's metric on `rows` (its ONNX artifact run in onnxruntime), so the gate compares both on the same
   * rows; if the artifact cannot be had or scored, its recorded metric, and the reason says so.
   */
  private async scoreOn(
    champion: ChampionView,
    rows: SplitRows,
    input: GateInput,
    metric: string,
    rowsVersion: string,
  ): Promise<{ champion: MetricChampion; rescored: boolean }> {
    try {
      const bytes = await this.deps.registry.downloadArtifact(champion.sha256);
      const metrics = await this.metricsOn(bytes, rows, input);
      if (metrics[metric] === undefined) throw new Error(`${metric} is not re-evaluated by the gate`);
      return {
        champion: { version: champion.version, value: metrics[metric], datasetVersion: rowsVersion },
        rescored: true,
      };
    } catch (error) {
      this.deps.log(
        `champion v${champion.version} not re-evaluated (${errorMessage(error)}); using its recorded metrics`,
      );
      const recorded = champion.signature?.datasetVersion;
      return {
        champion: {
          version: champion.version,
          value: champion.metrics[metric],
          datasetVersion: typeof recorded === 'string' ? recorded : undefined,
        },
        rescored: false,
      };
    }
  }
}

/** What the gate compares: the candidate and the champion on the same rows, and which rows. */
interface Compared {
  candidate: MetricCandidate;
  champion: MetricChampion | null;
  evaluation: NonNullable<GateOutcome['evaluation']>;
}
