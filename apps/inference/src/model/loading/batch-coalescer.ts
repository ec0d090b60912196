import type { RunOutput } from './run-output';

/** One request's rows in a batch, and whose they are (the model of a stack; nothing for a single model). */
export interface Share<O> {
  owner: O;
  rows: number;
}

interface Pending<O> extends Share<O> {
  data: Float32Array;
  resolve: (output: RunOutput) => void;
  reject: (error: unknown) => void;
}

/**
 * The ONNX runs of every model that are in flight together hand their answers back together, once the last of them
 * is done. onnxruntime-node runs each session synchronously in its own setImmediate, so the runs started while the
 * requests of one turn of the event loop were read all complete in the next check phase: the runs then execute back
 * to back and the answers are written in one burst afterwards, instead of a socket write (and a wake-up of the
 * client) between two runs, which halved the throughput of a many-model mix (see the README's gateway benchmark).
 * A lone run is answered at once. The first completion closes the group: runs started after it form the next group,
 * so a slow run delays only the runs that were in flight with it, never the ones that come later.
 */
export class RunRound {
  private open: RunGroup | null = null;

  /** Counts `run` in the open group; `settle` gets its outcome once no run of that group is in flight. */
  track<T>(run: Promise<T>, settle: (ok: boolean, value: T | unknown) => void): void {
    let group = this.open;
    if (group === null) {
      group = { inFlight: 0, settled: [] };
      this.open = group;
    }
    group.inFlight++;
    const member = group;
    run.then(
      (value) => this.done(member, () => settle(true, value)),
      (error: unknown) => this.done(member, () => settle(false, error)),
    );
  }

  private done(group: RunGroup, settle: () => void): void {
    if (this.open === group) this.open = null;
    group.settled.push(settle);
    if (--group.inFlight > 0) return;
    const settled = group.settled;
    group.settled = [];
    for (const each of settled) {
      try {
        each();
      } catch {
        // A settle callback only resolves or rejects a request's promise; one never keeps the others waiting.
      }
    }
  }
}

interface RunGroup {
  inFlight: number;
  settled: (() => void)[];
}

/** The round shared by every model of the process. */
export const sharedRunRound = new RunRound();

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
export class BatchCoalescer<O = void> {
  private pending: Pending<O>[] = [];
  private pendingRows = 0;
  /** Cancels the scheduled flush, if one is. */
  private cancelTimer: (() => void) | null = null;
  private running = false;

  constructor(
    private readonly width: number,
    /** Runs `rows` rows; `shares` says whose rows they are, in order. */
    private readonly run: (
      data: Float32Array,
      rows: number,
      shares: readonly Share<O>[],
    ) => Promise<RunOutput>,
    private readonly options: CoalescerOptions,
    private readonly round: RunRound = sharedRunRound,
  ) {}

  /** True while no request waits and no run is in flight. */
  get idle(): boolean {
    return !this.running && this.pending.length === 0;
  }

  submit(data: Float32Array, rows: number, owner: O): Promise<RunOutput> {
    return new Promise<RunOutput>((resolve, reject) => {
      this.pending.push({ data, rows, owner, resolve, reject });
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

  private execute(batch: Pending<O>[], rows: number): Promise<void> {
    return new Promise<void>((done) => {
      const run = this.start(batch, rows);
      this.round.track(run.output, (ok, value) => {
        if (ok) run.deliver(value as RunOutput);
        else for (const item of batch) item.reject(value);
        done();
      });
    });
  }

  private start(
    batch: Pending<O>[],
    rows: number,
  ): { output: Promise<RunOutput>; deliver: (output: RunOutput) => void } {
    if (batch.length === 1) {
      const only = batch[0];
      return { output: this.run(only.data, only.rows, batch), deliver: only.resolve };
    }
    const data = new Float32Array(rows * this.width);
    let offset = 0;
    for (const item of batch) {
      data.set(item.data, offset * this.width);
      offset += item.rows;
    }
    const deliver = (output: RunOutput) => {
      const classes = output.probabilities.length / rows;
      const values = output.values;
      let at = 0;
      for (const item of batch) {
        const end = at + item.rows;
        item.resolve({
          probabilities: output.probabilities.subarray(at * classes, end * classes),
          labels: output.labels.subarray(at, end),
          ...(values ? { values: values.subarray(at, end) } : {}),
        });
        at = end;
      }
    };
    return { output: this.run(data, rows, batch), deliver };
  }
}
