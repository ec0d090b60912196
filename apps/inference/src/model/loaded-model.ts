import { Tensor } from 'onnxruntime-node';
import type { DriftMonitor } from '../drift/drift-monitor';
import { ModelSignature } from '../predict/model-signature';
import { BatchCoalescer } from './batch-coalescer';
import type { OnnxSession } from './onnx-sessions';

export const INPUT_NAME = 'features';
export const PROBABILITIES_OUTPUT = 'probabilities';
export const LABEL_OUTPUT = 'label';
const FETCHES = [PROBABILITIES_OUTPUT, LABEL_OUTPUT];

/** Where a served model comes from: the response carries it so every prediction can be traced. */
export interface ModelInfo {
  name: string;
  version: number;
  sha256: string;
  runId: string | null;
  datasetVersion: string | null;
  size: number;
  loadedAt: string;
}

/** Class probabilities (row-major [rows, k]) and the predicted class index of each row. */
export interface RunOutput {
  probabilities: Float32Array;
  labels: Int32Array;
}

/** Per-class prediction counter of one model (see InferenceMetrics). */
export interface ClassTally {
  add(classIndex: number): void;
}

export interface RunObserver {
  /** One ONNX run of `rows` rows took `seconds`. */
  onRun(seconds: number, rows: number, info: ModelInfo): void;
  tally(info: ModelInfo, classes: readonly string[]): ClassTally;
  dropTally(tally: ClassTally): void;
}

/**
 * A loaded ONNX session with its signature. Requests hold it (acquire/release) while they use it, so a swap never
 * pulls a session from under a running request: a retired model releases its session when its last user is done.
 */
export class LoadedModel {
  private users = 0;
  private retired = false;
  private closed = false;
  private readonly coalescer: BatchCoalescer | null;
  /** Counts predictions by class for sepal_predictions_total. */
  readonly tally: ClassTally;

  constructor(
    private readonly session: OnnxSession,
    readonly info: ModelInfo,
    readonly signature: ModelSignature,
    private readonly observer: RunObserver,
    batching: { coalesce: boolean; windowUs: number; maxRows: number } = {
      coalesce: false,
      windowUs: 0,
      maxRows: 1000,
    },
    /** Feature drift of this version (null: its artifact has no training reference). */
    readonly drift: DriftMonitor | null = null,
  ) {
    this.tally = observer.tally(info, signature.labels);
    this.coalescer = batching.coalesce
      ? new BatchCoalescer(signature.featureNames.length, (data, rows) => this.runSession(data, rows), {
          windowUs: batching.windowUs,
          maxRows: Math.max(batching.maxRows, 1),
        })
      : null;
  }

  get inUse(): number {
    return this.users;
  }

  get isReleased(): boolean {
    return this.closed;
  }

  acquire(): this {
    this.users++;
    return this;
  }

  release(): void {
    this.users--;
    if (this.retired && this.users === 0) void this.close();
  }

  /** No new users after this; the session is released once the current ones are done. */
  retire(): void {
    this.retired = true;
    this.drift?.stop();
    if (this.users === 0) void this.close();
  }

  /** Scores `rows` rows (row-major float32 [rows, F]); concurrent calls may share one ONNX run. */
  infer(data: Float32Array, rows: number): Promise<RunOutput> {
    return this.coalescer ? this.coalescer.submit(data, rows) : this.runSession(data, rows);
  }

  async runSession(data: Float32Array, rows: number): Promise<RunOutput> {
    const started = performance.now();
    const input = new Tensor('float32', data, [rows, this.signature.featureNames.length]);
    const results = await this.session.run({ [INPUT_NAME]: input }, FETCHES);
    const probabilities = results[PROBABILITIES_OUTPUT].data as Float32Array;
    const raw = results[LABEL_OUTPUT].data as BigInt64Array;
    const labels = new Int32Array(rows);
    for (let i = 0; i < rows; i++) labels[i] = Number(raw[i]);
    this.observer.onRun((performance.now() - started) / 1000, rows, this.info);
    return { probabilities, labels };
  }

  private async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.observer.dropTally(this.tally);
    await this.session.release().catch(() => undefined);
  }
}
