import type { BinnedMatrix } from './binning';
import type { GrowTargets } from './tree-grower-types';

/** Above this many bytes of histograms for one tree's pending nodes, TreeGrower fills every node's own instead. */
export const NODE_HISTOGRAM_BYTES = 64 * 2 ** 20;

/**
 * Every feature's histogram of a node, kept while the node waits for its split, so that its children cost one pass
 * over the smaller child's rows: the larger child's histograms are the parent's minus the smaller's (histogram
 * subtraction, as LightGBM and scikit-learn's HistGradientBoosting do). Buffers are reused from tree to tree. Layout
 * of a buffer: feature-major, then bin, then `stride` values (the channel sums, the denominator, the row count).
 */
export class NodeHistograms {
  private readonly buffers: Float64Array[] = [];
  private readonly free: number[] = [];
  /** Values per buffer. */
  private readonly size: number;

  constructor(
    private readonly binned: BinnedMatrix,
    private readonly stride: number,
  ) {
    this.size = binned.featureCount * binned.binCount * stride;
  }

  /** Whether keeping `pending` nodes' histograms at once stays within NODE_HISTOGRAM_BYTES. */
  static fits(binned: BinnedMatrix, stride: number, pending: number): boolean {
    return pending * binned.featureCount * binned.binCount * stride * 8 <= NODE_HISTOGRAM_BYTES;
  }

  /** A zeroed buffer, by index. */
  acquire(): number {
    const reused = this.free.pop();
    if (reused !== undefined) {
      this.buffers[reused].fill(0);
      return reused;
    }
    this.buffers.push(new Float64Array(this.size));
    return this.buffers.length - 1;
  }

  release(index: number): void {
    this.free.push(index);
  }

  /** Every buffer free again (a new tree starts; the nodes left pending by the last one never split). */
  releaseAll(): void {
    this.free.length = 0;
    for (let i = this.buffers.length - 1; i >= 0; i--) this.free.push(i);
  }

  buffer(index: number): Float64Array {
    return this.buffers[index];
  }

  /** Where `feature`'s histogram starts in a buffer. */
  offsetOf(feature: number): number {
    return feature * this.binned.binCount * this.stride;
  }

  /** Adds rows[start, end) into buffer `index`, every feature. */
  fill(index: number, rows: Uint32Array, start: number, end: number, targets: GrowTargets): void {
    const histogram = this.buffers[index];
    const { stride } = this;
    const denominatorAt = stride - 2;
    const countAt = stride - 1;
    const { channelOf, sums, denominators } = targets;
    const { codes, rowCount, featureCount } = this.binned;
    for (let feature = 0; feature < featureCount; feature++) {
      const codeOffset = feature * rowCount;
      const offset = this.offsetOf(feature);
      for (let i = start; i < end; i++) {
        const row = rows[i];
        const base = offset + codes[codeOffset + row] * stride;
        histogram[base + channelOf[row]] += sums[row];
        histogram[base + denominatorAt] += denominators[row];
        histogram[base + countAt] += 1;
      }
    }
  }

  /**
   * The histograms of the children of the node whose buffer is `parent`, its rows split at [start, middle, end): one
   * pass over the smaller child's rows into a new buffer, and the parent's buffer, minus that, for the other child.
   * Answers the [left, right] buffers.
   */
  children(
    parent: number,
    rows: Uint32Array,
    [start, middle, end]: readonly [number, number, number],
    targets: GrowTargets,
  ): [number, number] {
    const smaller = this.acquire();
    const leftSmaller = middle - start <= end - middle;
    if (leftSmaller) this.fill(smaller, rows, start, middle, targets);
    else this.fill(smaller, rows, middle, end, targets);
    this.subtract(parent, smaller);
    return leftSmaller ? [smaller, parent] : [parent, smaller];
  }

  /** Buffer `from` minus buffer `part`, in place in `from`: a parent's histograms become its other child's. */
  subtract(from: number, part: number): void {
    const target = this.buffers[from];
    const source = this.buffers[part];
    for (let i = 0; i < target.length; i++) target[i] -= source[i];
  }

  /** Lists `feature`'s occupied bins of buffer `index` in ascending order into `occupied`; returns how many. */
  listOccupied(index: number, feature: number, occupied: Uint16Array): number {
    const histogram = this.buffers[index];
    const countAt = this.stride - 1;
    const offset = this.offsetOf(feature);
    let count = 0;
    for (let bin = 0; bin < this.binned.binCount; bin++) {
      // Counts are whole numbers, so a subtraction leaves an empty bin at exactly 0.
      if (histogram[offset + bin * this.stride + countAt] > 0) occupied[count++] = bin;
    }
    return count;
  }
}
