import type { DriftDetected, FeatureDriftView } from '@sepal/contracts';
import { psiBinIndex, psiFromBinCounts, type PsiReference } from '@sepal/ml';

/**
 * Feature drift of one served model version: the raw features of the last `windowRows` rows it scored, kept in a
 * float32 ring (recording a request copies its rows, nothing else), and their PSI per feature against the bins the
 * trainer fitted on the training split (ONNX metadata `feature_reference`). Evaluation runs off the request path: in
 * an unref'd interval and when Prometheus scrapes. Nest-free; the gateway wires it in DriftMonitors.
 */
export interface DriftMonitorOptions {
  model: string;
  version: number;
  featureNames: readonly string[];
  /** One reference per feature, in feature order. */
  reference: readonly PsiReference[];
  /** Rows kept (the most recent ones). */
  windowRows: number;
  /** No PSI (gauge or event) before the window holds this many rows (at most windowRows). */
  minRows: number;
  /** A feature whose PSI exceeds this is drifting; 0 disables the event (the gauge stays). */
  threshold: number;
  /** At most one event per model version in this period. */
  cooldownMs: number;
  /** Period of the background evaluation; 0: none (evaluate() by hand, or on scrape). */
  evalIntervalMs: number;
  /** Announces drift (drift.detected); a rejection allows another attempt at the next evaluation. */
  publish: (event: DriftDetected) => Promise<unknown>;
  onPublishError?: (error: Error) => void;
  /** Called once by stop(). */
  onStop?: (monitor: DriftMonitor) => void;
  /** Last event time per `model@version`; share one map so a version reloaded later keeps its cooldown. */
  cooldowns?: Map<string, number>;
  now?: () => number;
}

/** A feature's PSI at the last evaluation. */
export interface FeaturePsi {
  name: string;
  psi: number;
}

export class DriftMonitor {
  readonly model: string;
  readonly version: number;
  readonly featureNames: readonly string[];
  private readonly width: number;
  private readonly capacity: number;
  private readonly minRows: number;
  private readonly ring: Float32Array;
  /** Reference edges rounded to float32 like the served values, so a value equal to an edge stays in its bin. */
  private readonly edges: number[][];
  private readonly counts: Float64Array[];
  private readonly psi: Float64Array;
  private readonly cooldowns: Map<string, number>;
  private readonly cooldownKey: string;
  private readonly now: () => number;
  private next = 0;
  private filled = 0;
  /** Rows recorded in all, and at the last evaluation (nothing new: no need to evaluate again). */
  private recorded = 0;
  private evaluatedAt = -1;
  private hasPsi = false;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(private readonly options: DriftMonitorOptions) {
    const { featureNames, reference } = options;
    if (reference.length !== featureNames.length) {
      throw new Error(`drift: ${reference.length} feature references for ${featureNames.length} features`);
    }
    if (!Number.isInteger(options.windowRows) || options.windowRows < 1)
      throw new Error(`drift: windowRows must be a positive integer, got ${options.windowRows}`);
    this.model = options.model;
    this.version = options.version;
    this.featureNames = featureNames;
    this.width = featureNames.length;
    this.capacity = options.windowRows;
    this.minRows = Math.max(1, Math.min(options.minRows, options.windowRows));
    this.ring = new Float32Array(this.capacity * this.width);
    this.edges = reference.map((r) => r.edges.map((edge) => Math.fround(edge)));
    this.counts = reference.map((r) => new Float64Array(r.proportions.length));
    this.psi = new Float64Array(this.width);
    this.cooldowns = options.cooldowns ?? new Map();
    this.cooldownKey = `${options.model}@${options.version}`;
    this.now = options.now ?? Date.now;
  }

  /** Rows in the window now. */
  get windowRows(): number {
    return this.filled;
  }

  /** Hot path: copies the raw features of `rows` scored rows (row-major [rows, F]) into the ring. */
  record(data: Float32Array, rows: number): void {
    const width = this.width;
    const capacity = this.capacity;
    const ring = this.ring;
    const first = rows > capacity ? rows - capacity : 0;
    let slot = this.next;
    for (let row = first; row < rows; row++) {
      const from = row * width;
      const to = slot * width;
      for (let j = 0; j < width; j++) ring[to + j] = data[from + j];
      slot = slot + 1 === capacity ? 0 : slot + 1;
    }
    this.next = slot;
    this.filled = Math.min(capacity, this.filled + rows - first);
    this.recorded += rows;
  }

  /**
   * PSI of every feature over the window (null while it holds fewer than minRows rows); publishes drift.detected
   * when a feature exceeds the threshold and the version's cooldown has passed. Never throws.
   */
  evaluate(): readonly FeaturePsi[] | null {
    if (this.filled < this.minRows) return null;
    if (this.evaluatedAt !== this.recorded) {
      this.evaluatedAt = this.recorded;
      this.computePsi();
    }
    this.maybePublish();
    return this.current();
  }

  /** The PSI of the last evaluation, without evaluating; null before the first one. */
  current(): readonly FeaturePsi[] | null {
    if (!this.hasPsi) return null;
    return this.featureNames.map((name, j) => ({ name, psi: this.psi[j] }));
  }

  /**
   * The bins of every feature with the reference's and the window's share in each, and the PSI (live shares and PSI
   * null while the window holds fewer than minRows rows). Brings the PSI up to date without announcing drift.
   */
  view(): {
    windowRows: number;
    windowSize: number;
    minRows: number;
    threshold: number;
    features: FeatureDriftView[];
  } {
    const ready = this.filled >= this.minRows;
    if (ready && this.evaluatedAt !== this.recorded) {
      this.evaluatedAt = this.recorded;
      this.computePsi();
    }
    // computePsi's counts are of the window at the last evaluation, which is `filled` rows (nothing recorded since).
    const rows = this.filled;
    return {
      windowRows: rows,
      windowSize: this.capacity,
      minRows: this.minRows,
      threshold: this.options.threshold,
      features: this.featureNames.map((name, j) => ({
        name,
        edges: [...this.options.reference[j].edges],
        reference: [...this.options.reference[j].proportions],
        live: ready && this.hasPsi ? Array.from(this.counts[j], (n) => n / rows) : null,
        psi: ready && this.hasPsi ? this.psi[j] : null,
      })),
    };
  }

  /** Evaluates every evalIntervalMs in an unref'd interval (it never keeps the process alive). */
  start(): this {
    if (this.timer || this.stopped || this.options.evalIntervalMs <= 0) return this;
    this.timer = setInterval(() => this.evaluate(), this.options.evalIntervalMs);
    this.timer.unref();
    return this;
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.options.onStop?.(this);
  }

  private computePsi(): void {
    const width = this.width;
    const rows = this.filled;
    const ring = this.ring;
    for (let j = 0; j < width; j++) {
      const counts = this.counts[j];
      const edges = this.edges[j];
      counts.fill(0);
      for (let row = 0; row < rows; row++) counts[psiBinIndex(edges, ring[row * width + j])]++;
      this.psi[j] = psiFromBinCounts(this.options.reference[j], counts, rows);
    }
    this.hasPsi = true;
  }

  private maybePublish(): void {
    const { threshold, cooldownMs } = this.options;
    if (this.stopped || !(threshold > 0)) return;
    const drifting: FeaturePsi[] = [];
    for (let j = 0; j < this.width; j++) {
      if (this.psi[j] > threshold) drifting.push({ name: this.featureNames[j], psi: this.psi[j] });
    }
    if (drifting.length === 0) return;
    const now = this.now();
    const last = this.cooldowns.get(this.cooldownKey);
    if (last !== undefined && now - last < cooldownMs) return;
    this.cooldowns.set(this.cooldownKey, now);
    const event: DriftDetected = {
      modelName: this.model,
      version: this.version,
      features: drifting,
      threshold,
      detectedAt: new Date(now).toISOString(),
    };
    let sent: Promise<unknown>;
    try {
      sent = Promise.resolve(this.options.publish(event));
    } catch (error) {
      sent = Promise.reject(error as Error);
    }
    sent.catch((error: Error) => {
      // Not announced: the next evaluation may try again.
      if (this.cooldowns.get(this.cooldownKey) === now) this.cooldowns.delete(this.cooldownKey);
      this.options.onPublishError?.(error);
    });
  }
}
