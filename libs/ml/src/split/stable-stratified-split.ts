import { createHash } from 'node:crypto';

export type SplitName = 'train' | 'test';

export interface SplitItem {
  key: string;
  label: number;
}

export interface SplitOptions {
  testFraction: number;
  seed: number;
  /** Assignments inherited from the parent version: these rows never move. */
  fixed?: ReadonlyMap<string, SplitName>;
}

/** A deterministic rank for a row: the same key and seed give the same place in every version. */
export function splitRank(key: string, seed: number): string {
  return createHash('sha256').update(`${seed}:${key}`).digest('hex');
}

/**
 * Stratified, seeded, hash-based train/test assignment. Within each class the target test count is
 * round(n × testFraction); rows already assigned keep their split, and new rows fill the gap to the target
 * in hash order, so a row never moves between train and test across versions.
 */
export function stableStratifiedSplit(
  items: readonly SplitItem[],
  options: SplitOptions,
): Map<string, SplitName> {
  if (!(options.testFraction > 0 && options.testFraction < 1)) {
    throw new RangeError(`testFraction must be between 0 and 1 (exclusive), got ${options.testFraction}`);
  }
  const fixed = options.fixed ?? new Map<string, SplitName>();
  const byClass = new Map<number, SplitItem[]>();
  for (const item of items) {
    const members = byClass.get(item.label) ?? [];
    members.push(item);
    byClass.set(item.label, members);
  }
  const assignment = new Map<string, SplitName>();
  for (const members of byClass.values()) {
    const target = Math.round(members.length * options.testFraction);
    let testCount = 0;
    const fresh: SplitItem[] = [];
    for (const item of members) {
      const inherited = fixed.get(item.key);
      if (inherited) {
        assignment.set(item.key, inherited);
        if (inherited === 'test') testCount += 1;
      } else {
        fresh.push(item);
      }
    }
    const ranked = fresh
      .map((item) => ({ item, rank: splitRank(item.key, options.seed) }))
      .sort((a, b) => (a.rank < b.rank ? -1 : a.rank > b.rank ? 1 : 0));
    for (const { item } of ranked) {
      const split: SplitName = testCount < target ? 'test' : 'train';
      if (split === 'test') testCount += 1;
      assignment.set(item.key, split);
    }
  }
  return assignment;
}
