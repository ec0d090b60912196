import type { RunOutput } from './loaded-model';

interface Pending {
  data: Float32Array;
  rows: number;
  resolve: (output: RunOutput) => void;
  reject: (error: unknown) => void;
}

export interface CoalescerOptions {
  /** How long a request arriving at an idle model waits for company (microseconds); 0 runs it at once. */
  windowUs: number;
  /** A batch is run at once when it reaches this many rows. */
  maxRows: number;
}

/**
 * Adaptive batching: coalesces concurrent scoring requests into one ONNX run. A request reaching an idle model runs
 * at once (after the optional window); requests arriving while a run is in flight are concatenated into the next run,
 * and each gets its own slice of the outputs. Under load batches grow by themselves; alone, nothing waits.
 */
export class BatchCoalescer {
  private pending: Pending[] = [];
  private pendingRows = 0;
  /** Cancels the scheduled flush, if one is. */
  private cancelTimer: (() => void) | null = null;
  private running = false;

  constructor(
    private readonly width: number,
    private readonly run: (data: Float32Array, rows: number) => Promise<RunOutput>,
    private readonly options: CoalescerOptions,
  ) {}

  submit(data: Float32Array, rows: number): Promise<RunOutput> {
    return new Promise<RunOutput>((resolve, reject) => {
      this.pending.push({ data, rows, resolve, reject });
      this.pendingRows += rows;
      if (this.pendingRows >= this.options.maxRows) this.flush();
      else if (!this.running && this.cancelTimer === null) {
        if (this.options.windowUs === 0) this.flush();
        else this.schedule();
      }
    });
  }

  private schedule(): void {
    const ms = this.options.windowUs / 1000;
    if (ms < 1) {
      const immediate = setImmediate(() => this.flush());
      this.cancelTimer = () => clearImmediate(immediate);
    } else {
      const timeout = setTimeout(() => this.flush(), ms);
      this.cancelTimer = () => clearTimeout(timeout);
    }
  }

  private flush(): void {
    if (this.cancelTimer !== null) {
      this.cancelTimer();
      this.cancelTimer = null;
    }
    if (this.running || this.pending.length === 0) return;
    const batch = this.pending;
    const rows = this.pendingRows;
    this.pending = [];
    this.pendingRows = 0;
    this.running = true;
    void this.execute(batch, rows).finally(() => {
      this.running = false;
      if (this.pending.length > 0) this.flush();
    });
  }

  private async execute(batch: Pending[], rows: number): Promise<void> {
    if (batch.length === 1) {
      const only = batch[0];
      await this.run(only.data, only.rows).then(only.resolve, only.reject);
      return;
    }
    const data = new Float32Array(rows * this.width);
    let offset = 0;
    for (const item of batch) {
      data.set(item.data, offset * this.width);
      offset += item.rows;
    }
    let output: RunOutput;
    try {
      output = await this.run(data, rows);
    } catch (error) {
      for (const item of batch) item.reject(error);
      return;
    }
    const classes = output.probabilities.length / rows;
    offset = 0;
    for (const item of batch) {
      item.resolve({
        probabilities: output.probabilities.subarray(offset * classes, (offset + item.rows) * classes),
        labels: output.labels.subarray(offset, offset + item.rows),
      });
      offset += item.rows;
    }
  }
}
