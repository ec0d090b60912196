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
  /** Required improvement of test accuracy over the champion; the new model must be strictly better in any case. */
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
 * Promote when the candidate clears the floor and either there is no champion or it beats the champion's test
 * accuracy strictly, by at least the margin (ties keep the champion). Champions evaluated on another dataset version
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
  const beats = improvement > EPSILON && improvement + EPSILON >= policy.minImprovement;
  return beats
    ? { promote: true, alias: 'champion', reason: `beats the champion: ${comparison}` }
    : {
        promote: false,
        alias: 'challenger',
        reason: `${improvement > EPSILON ? 'does not beat the champion by the margin' : 'does not beat the champion'}: ${comparison}`,
      };
}
