export interface GateCandidate {
  version: number;
  testAccuracy: number;
  datasetVersion: string;
}

export interface GateChampion {
  version: number;
  /** The champion's recorded test accuracy, if it has one. */
  testAccuracy: number | undefined;
  /** The dataset version its test metrics come from, if known. */
  datasetVersion: string | undefined;
}

export interface GatePolicy {
  /**
   * Required change of test accuracy over the champion: 0 means strictly better (ties keep the champion), a positive
   * margin better by at least that much, a negative one tolerates that much regression (-1: promote whenever the floor
   * is cleared, e.g. to always serve the latest retrain).
   */
  minImprovement: number;
  /** Absolute floor of test accuracy. */
  minAccuracy: number;
}

export interface GateDecision {
  promote: boolean;
  /** The alias the new version gets. */
  alias: 'champion' | 'challenger';
  reason: string;
}

/** Rounding noise in accuracies (k / n) must not decide a tie. */
const EPSILON = 1e-9;

const fmt = (value: number) => value.toFixed(4);

/** The gate of one model (set per model in the registry, or the defaults for its task). */
export interface ModelGatePolicy {
  metric: string;
  /** 'up': higher is better (accuracy); 'down': lower is better (RMSE). */
  direction: 'up' | 'down';
  /** The worst acceptable value (a minimum for 'up', a maximum for 'down'); null: none. */
  floor: number | null;
  /** See GatePolicy.minImprovement, in the metric's own units and direction. */
  margin: number;
}

export interface MetricCandidate {
  version: number;
  /** The candidate's value of the gate's metric; undefined if its run did not record it. */
  value: number | undefined;
  datasetVersion: string;
  /**
   * What both values were measured on, when the gate scored both itself (e.g. 'on the frozen evaluation set (30
   * rows)'); otherwise the reason compares the dataset versions.
   */
  basis?: string;
}

export interface MetricChampion {
  version: number;
  value: number | undefined;
  datasetVersion: string | undefined;
}

/** The gate of a classifier from the trainer's GATE_MIN_ACCURACY and GATE_MIN_IMPROVEMENT. */
export function accuracyGate(policy: GatePolicy): ModelGatePolicy {
  return {
    metric: 'test_accuracy',
    direction: 'up',
    floor: policy.minAccuracy,
    margin: policy.minImprovement,
  };
}

/** A regressor's default gate: lower test RMSE than the champion, no ceiling. */
export const DEFAULT_REGRESSION_GATE: ModelGatePolicy = {
  metric: 'test_rmse',
  direction: 'down',
  floor: null,
  margin: 0,
};

/**
 * Promote when the candidate clears the floor and either there is no champion or its test accuracy beats the
 * champion's by the margin (see GatePolicy.minImprovement; with the default 0, ties keep the champion). Champions
 * evaluated on another dataset version are compared on their recorded metrics (no re-evaluation), and the reason says
 * so.
 */
export function decidePromotion(
  candidate: GateCandidate,
  champion: GateChampion | null,
  policy: GatePolicy,
): GateDecision {
  return decideByGate(
    { version: candidate.version, value: candidate.testAccuracy, datasetVersion: candidate.datasetVersion },
    champion && {
      version: champion.version,
      value: champion.testAccuracy,
      datasetVersion: champion.datasetVersion,
    },
    accuracyGate(policy),
  );
}

/**
 * The gate on any metric: the candidate must clear the floor ('up': value >= floor; 'down': value <= floor), then beat
 * the champion by the margin in the metric's direction (margin 0: strictly better, ties keep the champion).
 */
export function decideByGate(
  candidate: MetricCandidate,
  champion: MetricChampion | null,
  gate: ModelGatePolicy,
): GateDecision {
  const { metric, direction, floor, margin } = gate;
  const value = candidate.value;
  const keep = (reason: string): GateDecision => ({ promote: false, alias: 'challenger', reason });
  const promote = (reason: string): GateDecision => ({ promote: true, alias: 'champion', reason });
  if (value === undefined || !Number.isFinite(value)) {
    return keep(`the run recorded no ${metric}, the metric this model's gate decides on`);
  }
  const up = direction === 'up';
  const floorText = floor === null ? 'no floor' : `the ${up ? 'floor' : 'ceiling'} ${fmt(floor)}`;
  if (floor !== null && (up ? value + EPSILON < floor : value - EPSILON > floor)) {
    return keep(`${metric} ${fmt(value)} is ${up ? 'below the floor' : 'above the ceiling'} ${fmt(floor)}`);
  }
  const clears = floor === null ? `${metric} ${fmt(value)}` : `${metric} ${fmt(value)} clears ${floorText}`;
  if (champion === null) return promote(`no champion yet; ${clears}`);
  if (champion.value === undefined) {
    return promote(`champion v${champion.version} has no recorded ${metric}; ${clears}`);
  }
  const note = candidate.basis
    ? candidate.basis
    : champion.datasetVersion !== undefined && champion.datasetVersion === candidate.datasetVersion
      ? 'on the same test split'
      : `on recorded metrics: champion v${champion.version} was evaluated on dataset version ` +
        `${champion.datasetVersion?.slice(0, 12) ?? 'unknown'}, this one on ${candidate.datasetVersion.slice(0, 12)} ` +
        '(not re-evaluated)';
  const change = value - champion.value;
  // How much better, in the metric's direction.
  const improvement = up ? change : -change;
  const comparison =
    `${metric} ${fmt(value)} vs champion v${champion.version} ${fmt(champion.value)} ` +
    `(${change >= 0 ? '+' : ''}${fmt(change)}, margin ${fmt(margin)}) ${note}`;
  const beats = margin === 0 ? improvement > EPSILON : improvement + EPSILON >= margin;
  return beats
    ? promote(`beats the champion: ${comparison}`)
    : keep(
        `${margin > 0 && improvement > EPSILON ? 'does not beat the champion by the margin' : 'does not beat the champion'}: ${comparison}`,
      );
}

/** Who promotes a retrain that beats the champion (the trainer's PROMOTION_POLICY). */
export type PromotionPolicy = 'automatic' | 'approval';

/** Why a job was run (train.requested's reason). */
export type JobTrigger = 'manual' | 'schedule' | 'feedback' | 'drift' | 'startup';

/**
 * The promotion policy on the gate's decision: under 'approval', a retrain nobody asked for by hand (any trigger but
 * 'manual') that would replace a champion stays the challenger, and the reason says how to approve it. A first
 * version, a manual job and every refusal are left as the gate decided.
 */
export function applyPromotionPolicy(
  decision: GateDecision,
  context: {
    policy: PromotionPolicy;
    trigger: JobTrigger;
    hasChampion: boolean;
    modelName: string;
    version: number;
  },
): GateDecision & { awaitingApproval?: true } {
  if (!decision.promote || context.policy === 'automatic') return decision;
  if (!context.hasChampion || context.trigger === 'manual') return decision;
  return {
    promote: false,
    alias: 'challenger',
    awaitingApproval: true,
    reason:
      `${decision.reason}; awaiting approval (PROMOTION_POLICY=approval, a ${context.trigger} retrain): a key ` +
      `with the promote scope promotes it with PUT /models/${context.modelName}/aliases/champion ` +
      `{"version": ${context.version}}`,
  };
}
