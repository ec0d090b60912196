/**
 * A bounded in-process queue of rows waiting to be shipped: offer never blocks and never grows the queue past its
 * capacity (in rows); a batch that does not fit is refused whole and counted as dropped, as are rows the caller
 * reports lost later (a failed flush).
 */
export class BoundedRowQueue<T extends { rows: number }> {
  private readonly items: T[] = [];
  private head = 0;
  private queuedRows = 0;
  private droppedRows = 0;

  constructor(readonly capacityRows: number) {}

  /** Queues `item` if its rows fit; false (and the rows counted as dropped) when the queue is full. */
  offer(item: T): boolean {
    if (this.queuedRows + item.rows > this.capacityRows) {
      this.droppedRows += item.rows;
      return false;
    }
    this.items.push(item);
    this.queuedRows += item.rows;
    return true;
  }

  /** Takes items from the front up to `maxRows` rows (at least one item if any is queued). */
  take(maxRows: number): T[] {
    const taken: T[] = [];
    let rows = 0;
    while (this.head < this.items.length) {
      const next = this.items[this.head];
      if (taken.length > 0 && rows + next.rows > maxRows) break;
      taken.push(next);
      rows += next.rows;
      this.head++;
    }
    this.queuedRows -= rows;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items.splice(0, this.head);
      this.head = 0;
    }
    return taken;
  }

  /** Counts rows lost after they left the queue (e.g. the bus refused them). */
  lost(rows: number): void {
    this.droppedRows += rows;
  }

  get size(): number {
    return this.queuedRows;
  }

  get dropped(): number {
    return this.droppedRows;
  }
}
