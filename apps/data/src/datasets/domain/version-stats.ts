import type { ClassCounts, DatasetSchema } from '@sepal/contracts';

/** Rows per stratum (class index, or quantile bin of a regression target) in each split. */
export type StrataCounts = Record<string, { train: number; test: number }>;

/** What a version records to make its child cheap: strata counts, the bin edges (regression), feature ranges. */
export interface VersionStats {
  strata: StrataCounts;
  /** Inner edges of the target's quantile bins (regression); a bin is width_bucket(target, edges). */
  edges?: number[];
  /** Min and max of each feature over the version's rows (null for categorical or all-missing). */
  ranges: ({ min: number; max: number } | null)[];
}

/**
 * How many of each stratum's fresh rows go to test: the stratum's total test target round(n × fraction) minus the
 * inherited test rows (never negative), so rows already split never move.
 */
export function testQuotas(
  inherited: StrataCounts,
  fresh: Record<string, number>,
  testFraction: number,
): Record<string, number> {
  const quotas: Record<string, number> = {};
  for (const [stratum, n] of Object.entries(fresh)) {
    const kept = inherited[stratum] ?? { train: 0, test: 0 };
    const total = kept.train + kept.test + n;
    quotas[stratum] = Math.max(0, Math.round(total * testFraction) - kept.test);
  }
  return quotas;
}

export function mergeStrata(a: StrataCounts, b: StrataCounts): StrataCounts {
  const out: StrataCounts = {};
  for (const source of [a, b]) {
    for (const [stratum, c] of Object.entries(source)) {
      const t = (out[stratum] ??= { train: 0, test: 0 });
      t.train += c.train;
      t.test += c.test;
    }
  }
  return out;
}

/** Quantile bins for a regression split: ~2 test rows per bin at least, at most 10 bins. */
export function binCount(rows: number, testFraction: number): number {
  return Math.max(1, Math.min(10, Math.floor((rows * testFraction) / 2)));
}

/** Class counts per split by class name (classification); empty for regression. */
export function classCountsOf(schema: DatasetSchema, strata: StrataCounts): ClassCounts {
  const counts: ClassCounts = { train: {}, test: {} };
  if (schema.task !== 'classification') return counts;
  schema.labels.forEach((label, i) => {
    counts.train[label] = strata[String(i)]?.train ?? 0;
    counts.test[label] = strata[String(i)]?.test ?? 0;
  });
  return counts;
}

export function mergeRanges(a: VersionStats['ranges'], b: VersionStats['ranges']): VersionStats['ranges'] {
  return a.map((r, i) => {
    const s = b[i];
    if (!r) return s ?? null;
    if (!s) return r;
    return { min: Math.min(r.min, s.min), max: Math.max(r.max, s.max) };
  });
}
