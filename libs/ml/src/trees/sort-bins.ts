/** Above this many occupied bins, sortBins walks the bins or sorts natively instead of sorting by insertion. */
export const INSERTION_SORT_LIMIT = 48;

/**
 * Sorts occupied[0, count) ascending: by insertion for the many small nodes; for large ones, by walking every bin
 * and keeping those with rows (count > 0 in the histogram) when they fill at least an eighth of the `binCount` bins,
 * else with the typed array's own sort (a feature binned exactly has thousands of bins, a node's rows few of them).
 */
export function sortBins(
  occupied: Uint16Array,
  count: number,
  binCount: number,
  histogram: Float64Array,
  stride: number,
  countAt: number,
): void {
  if (count > INSERTION_SORT_LIMIT) {
    if (count * 8 < binCount) {
      occupied.subarray(0, count).sort();
      return;
    }
    let next = 0;
    for (let bin = 0; next < count; bin++) if (histogram[bin * stride + countAt] > 0) occupied[next++] = bin;
    return;
  }
  for (let i = 1; i < count; i++) {
    const bin = occupied[i];
    let j = i - 1;
    while (j >= 0 && occupied[j] > bin) {
      occupied[j + 1] = occupied[j];
      j--;
    }
    occupied[j + 1] = bin;
  }
}
