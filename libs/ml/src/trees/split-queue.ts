/**
 * The nodes of a growing tree that await their split, as a max-heap by gain: a leaf limit then keeps the most useful
 * splits. Equal gains come out in creation order (lower id first), so growth never depends on the heap's layout.
 */
export class SplitQueue {
  private readonly heap: Int32Array;
  private count = 0;

  /** `gains` is read, by node id, whenever two nodes are compared. */
  constructor(
    capacity: number,
    private readonly gains: Float64Array,
  ) {
    this.heap = new Int32Array(capacity);
  }

  get size(): number {
    return this.count;
  }

  clear(): void {
    this.count = 0;
  }

  push(node: number): void {
    const heap = this.heap;
    let i = this.count++;
    heap[i] = node;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.splitsBefore(heap[i], heap[parent])) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  /** The node with the best gain, removed from the queue. */
  pop(): number {
    const heap = this.heap;
    const top = heap[0];
    heap[0] = heap[--this.count];
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let first = i;
      if (left < this.count && this.splitsBefore(heap[left], heap[first])) first = left;
      if (right < this.count && this.splitsBefore(heap[right], heap[first])) first = right;
      if (first === i) break;
      this.swap(i, first);
      i = first;
    }
    return top;
  }

  private splitsBefore(a: number, b: number): boolean {
    const gainA = this.gains[a];
    const gainB = this.gains[b];
    return gainA > gainB || (gainA === gainB && a < b);
  }

  private swap(i: number, j: number): void {
    const node = this.heap[i];
    this.heap[i] = this.heap[j];
    this.heap[j] = node;
  }
}
