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

/**
 * Promote when the candidate clears the floor and either there is no champion or its test accuracy beats the
 * champion's by the margin (see GatePolicy.minImprovement; with the default 0, ties keep the champion). Champions evaluated on another dataset version
 * are compared on their recorded metrics (no re-evaluation), and the reason says so.
 */
export function decidePromotion(
  candidate: GateCandidate,
  champion: GateChampion | null,
  policy: GatePolicy,
): GateDecision {
  const accuracy = candidate.testAccuracy;
  if (accuracy + EPSILON < policy.minAccuracy) {
    return {
      promote: false,
      alias: 'challenger',
      reason: `test_accuracy ${fmt(accuracy)} is below the floor ${fmt(policy.minAccuracy)}`,
    };
  }
  if (champion === null) {
    return {
      promote: true,
      alias: 'champion',
      reason: `no champion yet; test_accuracy ${fmt(accuracy)} clears the floor ${fmt(policy.minAccuracy)}`,
    };
  }
  if (champion.testAccuracy === undefined) {
    return {
      promote: true,
      alias: 'champion',
      reason: `champion v${champion.version} has no recorded test_accuracy; test_accuracy ${fmt(accuracy)} clears the floor`,
    };
  }
  const note =
    champion.datasetVersion !== undefined && champion.datasetVersion === candidate.datasetVersion
      ? 'on the same test split'
      : `on recorded metrics: champion v${champion.version} was evaluated on dataset version ` +
        `${champion.datasetVersion?.slice(0, 12) ?? 'unknown'}, this one on ${candidate.datasetVersion.slice(0, 12)} ` +
        '(not re-evaluated)';
  const improvement = accuracy - champion.testAccuracy;
  const comparison =
    `test_accuracy ${fmt(accuracy)} vs champion v${champion.version} ${fmt(champion.testAccuracy)} ` +
    `(${improvement >= 0 ? '+' : ''}${fmt(improvement)}, margin ${fmt(policy.minImprovement)}) ${note}`;
  const beats =
    policy.minImprovement === 0 ? improvement > EPSILON : improvement + EPSILON >= policy.minImprovement;
  return beats
    ? { promote: true, alias: 'champion', reason: `beats the champion: ${comparison}` }
    : {
        promote: false,
        alias: 'challenger',
        reason: `${policy.minImprovement > 0 && improvement > EPSILON ? 'does not beat the champion by the margin' : 'does not beat the champion'}: ${comparison}`,
      };
}
