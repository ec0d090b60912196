import { createRng } from '../util/random';
import { NodeHistograms } from './node-histograms';
import { prepareTreeData } from './tree-data';
import { TreeGrower, type GrowLimits, type GrowTargets } from './tree-grower';

const SEED = 41;

/** Rows of 4 features with few distinct values, and integer targets, so every sum is exact whatever its order. */
function data(rows: number) {
  const random = createRng(SEED);
  const x = Array.from({ length: rows }, () => Array.from({ length: 4 }, () => Math.floor(random() * 9)));
  const y = x.map(([a, b, c]) => (a > 4 ? 2 * b : c - b) + Math.floor(random() * 3));
  const prepared = prepareTreeData({ x, y }, 'regression', 255, undefined, 'spec');
  const targets: GrowTargets = {
    channelOf: new Int32Array(rows),
    sums: Float64Array.from(y),
    denominators: new Float64Array(rows).fill(1),
  };
  return { prepared, targets };
}

const LIMITS: GrowLimits = {
  maxDepth: Infinity,
  maxLeaves: Infinity,
  minSamplesLeaf: 3,
  minDenominator: 0,
  l2: 0,
  featuresPerSplit: 4,
};

describe('NodeHistograms (histogram subtraction)', () => {
  it('grows the same tree as filling every node, with and without a leaf limit', () => {
    console.log(`node-histograms.spec seed ${SEED}`);
    const { prepared, targets } = data(400);
    const grow = (limits: GrowLimits) => {
      const rows = Uint32Array.from({ length: 400 }, (_, i) => i);
      return new TreeGrower(prepared.binned, prepared.bins, 1, limits).grow(rows, targets, createRng(SEED))
        .tree;
    };
    // No leaf limit: no node histograms (a tree's pending nodes are unbounded); 400 leaves at most: subtraction.
    const filled = grow(LIMITS);
    const subtracted = grow({ ...LIMITS, maxLeaves: 400 });
    expect(filled.feature.filter((f) => f >= 0).length).toBeGreaterThan(10);
    expect(subtracted).toEqual(filled);
    expect(grow({ ...LIMITS, maxLeaves: 12 }).feature.filter((f) => f >= 0)).toHaveLength(11);
  });

  it("makes a child's histograms the parent's minus its sibling's, and lists occupied bins in order", () => {
    const { prepared, targets } = data(50);
    const histograms = new NodeHistograms(prepared.binned, 3);
    const rows = Uint32Array.from({ length: 50 }, (_, i) => i);
    const parent = histograms.acquire();
    histograms.fill(parent, rows, 0, 50, targets);
    const [left, right] = histograms.children(parent, rows, [0, 20, 50], targets);
    expect(right).toBe(parent);
    const direct = histograms.acquire();
    histograms.fill(direct, rows, 20, 50, targets);
    expect(Array.from(histograms.buffer(right))).toEqual(Array.from(histograms.buffer(direct)));
    const occupied = new Uint16Array(prepared.binned.binCount);
    const count = histograms.listOccupied(left, 0, occupied);
    const expected = [...new Set(rows.subarray(0, 20).map((row) => prepared.binned.codes[row]))].sort(
      (a, b) => a - b,
    );
    expect(Array.from(occupied.subarray(0, count))).toEqual(expected);
  });

  it('keeps a tree of pending nodes within its memory bound, and reuses freed buffers', () => {
    const { prepared } = data(10);
    expect(NodeHistograms.fits(prepared.binned, 3, 32)).toBe(true);
    expect(NodeHistograms.fits(prepared.binned, 3, 1e9)).toBe(false);
    const histograms = new NodeHistograms(prepared.binned, 3);
    const first = histograms.acquire();
    histograms.buffer(first)[0] = 7;
    histograms.release(first);
    expect(histograms.acquire()).toBe(first);
    expect(histograms.buffer(first)[0]).toBe(0);
  });
});
