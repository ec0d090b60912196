import { SplitItem, stableStratifiedSplit } from './stable-stratified-split';

const items = (perClass: number, classes = 3, prefix = 'row'): SplitItem[] =>
  Array.from({ length: perClass * classes }, (_, i) => ({ key: `${prefix}-${i}`, label: i % classes }));

const countsBy = (assignment: Map<string, string>, all: SplitItem[]) => {
  const counts: Record<string, number> = {};
  for (const item of all) {
    const key = `${item.label}:${assignment.get(item.key)}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
};

describe('stableStratifiedSplit', () => {
  it('gives exactly 40 train and 10 test rows per class for 50 rows per class at 20%', () => {
    const all = items(50);
    const counts = countsBy(stableStratifiedSplit(all, { testFraction: 0.2, seed: 42 }), all);
    expect(counts).toEqual({
      '0:train': 40,
      '0:test': 10,
      '1:train': 40,
      '1:test': 10,
      '2:train': 40,
      '2:test': 10,
    });
  });

  it('is reproducible for a seed and differs for another seed', () => {
    const all = items(50);
    const a = stableStratifiedSplit(all, { testFraction: 0.2, seed: 42 });
    const b = stableStratifiedSplit(all, { testFraction: 0.2, seed: 42 });
    const c = stableStratifiedSplit(all, { testFraction: 0.2, seed: 7 });
    expect([...a]).toEqual([...b]);
    expect([...a]).not.toEqual([...c]);
  });

  it('keeps inherited assignments and tops the test share up with new rows only', () => {
    const parent = items(50);
    const parentSplit = stableStratifiedSplit(parent, { testFraction: 0.2, seed: 42 });
    const added = items(10, 3, 'new');
    const child = stableStratifiedSplit([...parent, ...added], {
      testFraction: 0.2,
      seed: 42,
      fixed: parentSplit,
    });
    for (const [key, split] of parentSplit) expect(child.get(key)).toBe(split);
    const counts = countsBy(child, [...parent, ...added]);
    expect(counts['0:test']).toBe(12);
    expect(counts['0:train']).toBe(48);
  });

  it('rejects a fraction outside (0, 1)', () => {
    expect(() => stableStratifiedSplit(items(2), { testFraction: 1, seed: 1 })).toThrow(/between 0 and 1/);
  });
});
