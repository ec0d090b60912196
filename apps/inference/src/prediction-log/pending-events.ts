import { MAX_LOGGED_PREDICTIONS_PER_EVENT, type LoggedGroup } from '@sepal/contracts';
import type { ModelInfo } from '../model/loading/loaded-model';
import { appendRows, emptyGroup, ScoredRequest } from './logged-rows';

/** One predictions.logged event ready to ship: its groups (one per model version) and the rows they hold. */
export interface PendingEvent {
  groups: LoggedGroup[];
  rows: number;
}

/**
 * The logged rows waiting to be shipped, already in the event's columnar form. A recorded request's rows are copied
 * onto its model version's columns at once (its buffers may be reused once it is answered), so the queue holds a few
 * growing arrays of numbers, not objects and typed-array copies per request that live until the next flush, and a
 * flush only publishes. Events hold at most `rowsPerEvent` rows (a larger request is split). Bounded in rows: a
 * request that does not fit is refused whole (the caller counts what it drops).
 */
export class PendingEvents {
  private readonly sealed: PendingEvent[] = [];
  /** The event being filled, by model version (ModelInfo is one object per loaded version). */
  private open = new Map<ModelInfo, LoggedGroup>();
  private openRows = 0;
  private queuedRows = 0;

  constructor(
    readonly capacityRows: number,
    readonly rowsPerEvent: number = MAX_LOGGED_PREDICTIONS_PER_EVENT,
  ) {
    if (
      !Number.isInteger(rowsPerEvent) ||
      rowsPerEvent < 1 ||
      rowsPerEvent > MAX_LOGGED_PREDICTIONS_PER_EVENT
    )
      throw new RangeError(
        `rows per event must be 1 to ${MAX_LOGGED_PREDICTIONS_PER_EVENT}, not ${rowsPerEvent}`,
      );
  }

  /** Copies the request's rows in if they fit; false when the queue is full. */
  offer(scored: ScoredRequest): boolean {
    const { rows } = scored.parsed;
    if (this.queuedRows + rows > this.capacityRows) return false;
    const at = Date.now();
    for (let done = 0; done < rows;) {
      if (this.openRows === this.rowsPerEvent) this.seal();
      let group = this.open.get(scored.info);
      if (!group) {
        group = emptyGroup(scored);
        this.open.set(scored.info, group);
      }
      const to = Math.min(rows, done + this.rowsPerEvent - this.openRows);
      appendRows(group, scored, at, done, to);
      this.openRows += to - done;
      done = to;
    }
    this.queuedRows += rows;
    return true;
  }

  /** The oldest event (the one being filled once the others are taken), or null when nothing is queued. */
  take(): PendingEvent | null {
    if (this.sealed.length === 0 && this.openRows > 0) this.seal();
    const next = this.sealed.shift() ?? null;
    if (next) this.queuedRows -= next.rows;
    return next;
  }

  get size(): number {
    return this.queuedRows;
  }

  private seal(): void {
    this.sealed.push({ groups: [...this.open.values()], rows: this.openRows });
    this.open = new Map();
    this.openRows = 0;
  }
}
