import { splitThreshold, type BinnedMatrix, type FeatureBins } from './binning';
import { NodeHistograms } from './node-histograms';
import { SplitQueue } from './split-queue';
import { sortBins } from './sort-bins';
import type { DecisionTree } from './tree-model';
import type { GrowLimits, GrownTree, GrowTargets } from './tree-grower-types';

export type { GrowLimits, GrownTree, GrowTargets } from './tree-grower-types';

const RELATIVE_GAIN_TOLERANCE = 1e-10;
/** scanFeature's outcomes. */
const CONSTANT = -1;
const NO_BETTER_SPLIT = 0;
const BETTER_SPLIT = 1;

/**
 * Grows trees on one binned training matrix with histograms: at each node, per candidate feature, one pass over the
 * node's rows fills the bins it occupies (boosting: NodeHistograms keeps them, by subtraction), then a scan of those
 * bins in order finds the best boundary. Nodes are split best gain first, so a leaf limit keeps the most useful
 * splits. All per-node state lives in typed arrays allocated once for every tree grown on the matrix (a tree has at
 * most 2 x rows - 1 nodes).
 */
export class TreeGrower {
  private readonly stride: number;
  private readonly denominatorAt: number;
  private readonly countAt: number;
  private readonly histogram: Float64Array;
  private readonly occupied: Uint16Array;
  /** With every feature examined at each split and few leaves (boosting): each pending node's histograms. */
  private readonly nodeHistograms: NodeHistograms | null;
  /** Per node, its buffer in nodeHistograms (-1 for none). */
  private readonly histogramsOf: Int32Array;
  // The histogram the current feature scan reads, and where the feature starts in it.
  private scanned: Float64Array;
  private scannedAt = 0;
  private readonly leftSums: Float64Array;
  private readonly featureOrder: Int32Array;
  // Per node, by id.
  private readonly start: Int32Array;
  private readonly end: Int32Array;
  private readonly depth: Int32Array;
  /** stride values per node: the channel sums, the denominator sum, the row count. */
  private readonly totals: Float64Array;
  private readonly splitFeature: Int32Array;
  /** The split's occupied bins either side of it: rows in splitBin or below go left, from splitNext up right. */
  private readonly splitBin: Int32Array;
  private readonly splitNext: Int32Array;
  private readonly splitGain: Float64Array;
  private readonly leftTotals: Float64Array;
  private readonly left: Int32Array;
  private readonly right: Int32Array;
  /** Node ids awaiting their split, best gain first. */
  private readonly queue: SplitQueue;
  private nodeCount = 0;
  // The feature scan's best boundary so far within the current node.
  private bestScore = 0;
  private bestBin = -1;
  private bestNext = -1;
  private bestBoundary = -1;

  constructor(
    private readonly binned: BinnedMatrix,
    private readonly bins: FeatureBins,
    private readonly channels: number,
    private readonly limits: GrowLimits,
  ) {
    this.stride = channels + 2;
    this.denominatorAt = channels;
    this.countAt = channels + 1;
    this.histogram = new Float64Array(binned.binCount * this.stride);
    this.occupied = new Uint16Array(binned.binCount);
    this.leftSums = new Float64Array(channels);
    this.featureOrder = Int32Array.from({ length: binned.featureCount }, (_, i) => i);
    const capacity = Math.max(1, 2 * binned.rowCount - 1);
    this.start = new Int32Array(capacity);
    this.end = new Int32Array(capacity);
    this.depth = new Int32Array(capacity);
    this.totals = new Float64Array(capacity * this.stride);
    this.splitFeature = new Int32Array(capacity);
    this.splitBin = new Int32Array(capacity);
    this.splitNext = new Int32Array(capacity);
    this.splitGain = new Float64Array(capacity);
    this.leftTotals = new Float64Array(capacity * this.stride);
    this.left = new Int32Array(capacity);
    this.right = new Int32Array(capacity);
    this.queue = new SplitQueue(capacity, this.splitGain);
    this.histogramsOf = new Int32Array(capacity).fill(-1);
    const subtract =
      limits.featuresPerSplit >= binned.featureCount &&
      Number.isFinite(limits.maxLeaves) &&
      NodeHistograms.fits(binned, this.stride, limits.maxLeaves + 1);
    this.nodeHistograms = subtract ? new NodeHistograms(binned, this.stride) : null;
    this.scanned = this.histogram;
  }

  /**
   * Grows one tree on `rows` (distinct row indices, reordered in place) with `rng` drawing the split features;
   * `recordLeaves` also returns the leaf of every row (boosting updates its scores with it).
   */
  grow(rows: Uint32Array, targets: GrowTargets, rng: () => number, recordLeaves = false): GrownTree {
    const gain = new Array<number>(this.binned.featureCount).fill(0);
    this.nodeCount = 0;
    this.queue.clear();
    // A tree depends only on its rows, targets and rng: not on the trees grown before it.
    this.featureOrder.forEach((_, i, order) => (order[i] = i));
    this.sumRows(rows, targets);
    const pool = this.nodeHistograms;
    pool?.releaseAll();
    const root = pool ? pool.acquire() : -1;
    pool?.fill(root, rows, 0, rows.length, targets);
    this.addNode(rows, targets, rng, 0, rows.length, 0, root);
    let leaves = 1;
    while (leaves < this.limits.maxLeaves && this.queue.size > 0) {
      const node = this.queue.pop();
      const feature = this.splitFeature[node];
      const middle = this.partition(rows, node, feature, this.splitBin[node]);
      const { stride } = this;
      const leftId = this.nodeCount;
      // The left child's totals were kept by the split search; the right child's are the rest of the parent's.
      for (let c = 0; c < stride; c++) {
        this.totals[leftId * stride + c] = this.leftTotals[node * stride + c];
        this.totals[(leftId + 1) * stride + c] =
          this.totals[node * stride + c] - this.leftTotals[node * stride + c];
      }
      this.left[node] = leftId;
      this.right[node] = leftId + 1;
      gain[feature] += this.splitGain[node];
      leaves++;
      const [leftHistograms, rightHistograms] = this.nodeHistograms
        ? this.nodeHistograms.children(
            this.histogramsOf[node],
            rows,
            [this.start[node], middle, this.end[node]],
            targets,
          )
        : [-1, -1];
      this.histogramsOf[node] = -1;
      this.addNode(rows, targets, rng, this.start[node], middle, this.depth[node] + 1, leftHistograms);
      this.addNode(rows, targets, rng, middle, this.end[node], this.depth[node] + 1, rightHistograms);
    }
    return { tree: this.finishTree(gain), leafOfRow: recordLeaves ? this.leafOfRow(rows) : null };
  }

  /**
   * Registers the next node (its totals, and with node histograms its `histograms` buffer, already in place) and
   * queues it if it has a worthwhile split; a node that is not queued gives its buffer back.
   */
  private addNode(
    rows: Uint32Array,
    targets: GrowTargets,
    rng: () => number,
    start: number,
    end: number,
    depth: number,
    histograms: number,
  ): void {
    const id = this.nodeCount++;
    this.start[id] = start;
    this.end[id] = end;
    this.depth[id] = depth;
    this.left[id] = -1;
    this.right[id] = -1;
    this.splitFeature[id] = -1;
    this.histogramsOf[id] = histograms;
    if (depth < this.limits.maxDepth && end - start >= 2 * this.limits.minSamplesLeaf) {
      this.findSplit(rows, targets, rng, id);
      if (this.splitFeature[id] >= 0) {
        this.queue.push(id);
        return;
      }
    }
    if (histograms >= 0) this.nodeHistograms?.release(histograms);
    this.histogramsOf[id] = -1;
  }

  /** The root's totals: sums over every sampled row. */
  private sumRows(rows: Uint32Array, targets: GrowTargets): void {
    const { totals, denominatorAt, countAt } = this;
    totals.fill(0, 0, this.stride);
    const { channelOf, sums, denominators } = targets;
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i];
      totals[channelOf[row]] += sums[row];
      totals[denominatorAt] += denominators[row];
    }
    totals[countAt] = rows.length;
  }

  private nodeScore(node: number): number {
    const base = node * this.stride;
    let score = 0;
    const scale = 1 / (this.totals[base + this.denominatorAt] + this.limits.l2);
    for (let c = 0; c < this.channels; c++) score += this.totals[base + c] * this.totals[base + c] * scale;
    return score;
  }

  private findSplit(rows: Uint32Array, targets: GrowTargets, rng: () => number, node: number): void {
    // Several channels are classes, whose sums are weights: a node of one class has nothing to split.
    if (this.channels > 1 && this.isPure(node)) return;
    const parentScore = this.nodeScore(node);
    this.bestScore = parentScore + RELATIVE_GAIN_TOLERANCE * Math.abs(parentScore);
    const order = this.featureOrder;
    const featureCount = order.length;
    let informative = 0;
    for (let k = 0; k < featureCount && informative < this.limits.featuresPerSplit; k++) {
      // A partial Fisher-Yates shuffle: the features examined so far are a uniform draw without replacement.
      const pick = k + Math.floor(rng() * (featureCount - k));
      const feature = order[pick];
      order[pick] = order[k];
      order[k] = feature;
      const outcome = this.scanFeature(rows, targets, node, feature);
      if (outcome === CONSTANT) continue;
      informative++;
      if (outcome === BETTER_SPLIT) {
        this.splitFeature[node] = feature;
        this.splitBin[node] = this.bestBin;
        this.splitNext[node] = this.bestNext;
        this.splitGain[node] = this.bestScore - parentScore;
      }
    }
  }

  private isPure(node: number): boolean {
    let present = 0;
    for (let c = 0; c < this.channels; c++) if (this.totals[node * this.stride + c] > 0) present++;
    return present <= 1;
  }

  /**
   * Fills the histogram of `feature` over the node's rows (or reads the node's kept one) and scans its boundaries
   * for a score above bestScore; on success updates bestScore and bestBin and keeps the left side's totals in
   * leftTotals.
   */
  private scanFeature(rows: Uint32Array, targets: GrowTargets, node: number, feature: number): number {
    const pool = this.nodeHistograms;
    const kept = this.histogramsOf[node];
    if (pool && kept >= 0) {
      // The node's histograms are there already: list the feature's occupied bins (ascending) and scan them.
      const occupiedCount = pool.listOccupied(kept, feature, this.occupied);
      if (occupiedCount < 2) return CONSTANT;
      this.scanned = pool.buffer(kept);
      this.scannedAt = pool.offsetOf(feature);
      const outcome = this.scanBoundaries(node, occupiedCount);
      if (outcome === BETTER_SPLIT) this.keepLeftTotals(node);
      return outcome;
    }
    this.scanned = this.histogram;
    this.scannedAt = 0;
    const occupiedCount = this.fillHistogram(rows, targets, node, feature);
    if (occupiedCount < 2) {
      this.clearHistogram(occupiedCount);
      return CONSTANT;
    }
    sortBins(this.occupied, occupiedCount, this.binned.binCount, this.histogram, this.stride, this.countAt);
    const outcome = this.scanBoundaries(node, occupiedCount);
    if (outcome === BETTER_SPLIT) this.keepLeftTotals(node);
    this.clearHistogram(occupiedCount);
    return outcome;
  }

  /** Adds the node's rows into the histogram of `feature`; returns how many bins they occupy (listed in occupied). */
  private fillHistogram(rows: Uint32Array, targets: GrowTargets, node: number, feature: number): number {
    const { histogram, occupied, stride, denominatorAt, countAt } = this;
    const { channelOf, sums, denominators } = targets;
    const codes = this.binned.codes;
    const offset = feature * this.binned.rowCount;
    const end = this.end[node];
    let occupiedCount = 0;
    for (let i = this.start[node]; i < end; i++) {
      const row = rows[i];
      const bin = codes[offset + row];
      const base = bin * stride;
      if (histogram[base + countAt] === 0) occupied[occupiedCount++] = bin;
      histogram[base + channelOf[row]] += sums[row];
      histogram[base + denominatorAt] += denominators[row];
      histogram[base + countAt] += 1;
    }
    return occupiedCount;
  }

  private scanBoundaries(node: number, occupiedCount: number): number {
    const { occupied, stride, channels, denominatorAt, countAt, totals, leftSums } = this;
    const histogram = this.scanned;
    const at = this.scannedAt;
    const { minSamplesLeaf, minDenominator, l2 } = this.limits;
    const nodeBase = node * stride;
    const totalCount = totals[nodeBase + countAt];
    const totalDenominator = totals[nodeBase + denominatorAt];
    leftSums.fill(0);
    let leftCount = 0;
    let leftDenominator = 0;
    let outcome = NO_BETTER_SPLIT;
    for (let j = 0; j + 1 < occupiedCount; j++) {
      const base = at + occupied[j] * stride;
      for (let c = 0; c < channels; c++) leftSums[c] += histogram[base + c];
      leftDenominator += histogram[base + denominatorAt];
      leftCount += histogram[base + countAt];
      if (leftCount < minSamplesLeaf) continue;
      if (totalCount - leftCount < minSamplesLeaf) break;
      const rightDenominator = totalDenominator - leftDenominator;
      if (leftDenominator < minDenominator || rightDenominator < minDenominator) continue;
      const leftScale = 1 / (leftDenominator + l2);
      const rightScale = 1 / (rightDenominator + l2);
      let score = 0;
      for (let c = 0; c < channels; c++) {
        const leftSum = leftSums[c];
        const rightSum = totals[nodeBase + c] - leftSum;
        score += leftSum * leftSum * leftScale + rightSum * rightSum * rightScale;
      }
      if (score > this.bestScore) {
        this.bestScore = score;
        this.bestBoundary = j;
        this.bestBin = occupied[j];
        this.bestNext = occupied[j + 1];
        outcome = BETTER_SPLIT;
      }
    }
    return outcome;
  }

  /** Sums the histogram up to the best boundary into the node's leftTotals. */
  private keepLeftTotals(node: number): void {
    const { occupied, stride, leftTotals } = this;
    const histogram = this.scanned;
    const base = node * stride;
    leftTotals.fill(0, base, base + stride);
    for (let j = 0; j <= this.bestBoundary; j++) {
      const binBase = this.scannedAt + occupied[j] * stride;
      for (let c = 0; c < stride; c++) leftTotals[base + c] += histogram[binBase + c];
    }
  }

  private clearHistogram(occupiedCount: number): void {
    const { histogram, occupied, stride } = this;
    for (let j = 0; j < occupiedCount; j++) {
      const base = occupied[j] * stride;
      for (let c = 0; c < stride; c++) histogram[base + c] = 0;
    }
  }

  /** Moves the node's rows with a code <= bin to the front of its range; returns where the right child starts. */
  private partition(rows: Uint32Array, node: number, feature: number, bin: number): number {
    const codes = this.binned.codes;
    const offset = feature * this.binned.rowCount;
    let low = this.start[node];
    let high = this.end[node] - 1;
    while (low <= high) {
      if (codes[offset + rows[low]] <= bin) {
        low++;
      } else {
        const swap = rows[low];
        rows[low] = rows[high];
        rows[high] = swap;
        high--;
      }
    }
    return low;
  }

  private finishTree(gain: number[]): DecisionTree {
    const count = this.nodeCount;
    const { channels, stride, totals } = this;
    const tree: DecisionTree = {
      feature: new Array<number>(count),
      threshold: new Array<number>(count),
      left: Array.from(this.left.subarray(0, count)),
      right: Array.from(this.right.subarray(0, count)),
      value: new Array<number>(count * channels).fill(0),
      gain,
    };
    for (let node = 0; node < count; node++) {
      const isSplit = this.left[node] >= 0;
      const feature = isSplit ? this.splitFeature[node] : -1;
      tree.feature[node] = feature;
      tree.threshold[node] = isSplit
        ? splitThreshold(this.bins, feature, this.splitBin[node], this.splitNext[node])
        : 0;
      if (isSplit) continue;
      const denominator = totals[node * stride + this.denominatorAt] + this.limits.l2;
      for (let c = 0; c < channels; c++) {
        tree.value[node * channels + c] = denominator > 0 ? totals[node * stride + c] / denominator : 0;
      }
    }
    return tree;
  }

  private leafOfRow(rows: Uint32Array): Int32Array {
    const leafOfRow = new Int32Array(this.binned.rowCount).fill(-1);
    for (let node = 0; node < this.nodeCount; node++) {
      if (this.left[node] >= 0) continue;
      for (let i = this.start[node]; i < this.end[node]; i++) leafOfRow[rows[i]] = node;
    }
    return leafOfRow;
  }
}
