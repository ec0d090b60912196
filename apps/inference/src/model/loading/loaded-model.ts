import { Tensor } from 'onnxruntime-node';
import type { OnnxImageInput } from '@sepal/contracts';
import type { DriftMonitor } from '../../drift/drift-monitor';
import { ModelSignature } from '../../predict/model-signature';
import { BatchCoalescer } from './batch-coalescer';
import type { RunOutput } from './run-output';

export type { RunOutput } from './run-output';

/** Where a stacked version's rows are scored (a ModelStack): one ONNX run for the batch of all its members. */
export interface StackedScoring {
  submit(member: LoadedModel, data: Float32Array, rows: number): Promise<RunOutput>;
}
import type { OnnxSession } from './onnx-sessions.service';

export const INPUT_NAME = 'features';
/** The raw categorical cells of a model with categorical columns, string [N, categorical]. */
export const CATEGORICAL_INPUT = 'categorical';
export const PROBABILITIES_OUTPUT = 'probabilities';
export const LABEL_OUTPUT = 'label';
/** A regressor's output, float32 [N, 1]. */
export const VALUE_OUTPUT = 'value';
const FETCHES = [PROBABILITIES_OUTPUT, LABEL_OUTPUT];
const REGRESSION_FETCHES = [VALUE_OUTPUT];

/** What a stack needs of a member: its verified artifact and the key of its architecture. */
export interface Stackable {
  key: string;
  bytes: Uint8Array;
}

/**
 * An image model's input, [rows, H, W, C] NHWC: the pixel values (0..255, validated by the parsers) as they are, or
 * as bytes for a uint8 input.
 */
function imageTensor(data: Float32Array, rows: number, image: OnnxImageInput): Tensor {
  const dims = [rows, image.height, image.width, image.channels];
  const size = rows * image.height * image.width * image.channels;
  const values = data.length === size ? data : data.subarray(0, size);
  return image.inputType === 'uint8'
    ? new Tensor('uint8', Uint8Array.from(values), dims)
    : new Tensor('float32', values, dims);
}

/** A regressor has no classes to count. */
const NO_TALLY: ClassTally = { add: () => undefined };

/** Where a served model comes from: the response carries it so every prediction can be traced. */
export interface ModelInfo {
  name: string;
  version: number;
  sha256: string;
  runId: string | null;
  datasetVersion: string | null;
  size: number;
  loadedAt: string;
  /** The version's registered test figures (for live quality in the prediction log). */
  testMetrics?: Record<string, number>;
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
  /** The stack this version's requests are scored through (see ModelStacks); null: its own session. */
  private stack: StackedScoring | null = null;
  private readonly retiredListeners: (() => void)[] = [];
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
    /** The artifact and its architecture, for a model that can share runs with others of that architecture. */
    stackable: Stackable | null = null,
  ) {
    this.tally = signature.task === 'regression' ? NO_TALLY : observer.tally(info, signature.labels);
    // Coalescing concatenates numeric rows and splits the outputs by rows: models with string inputs run alone.
    const plain = signature.categoricalCount === 0;
    this.coalescer =
      batching.coalesce && plain
        ? new BatchCoalescer(signature.numericCount, (data, rows) => this.runSession(data, rows), {
            windowUs: batching.windowUs,
            maxRows: Math.max(batching.maxRows, 1),
          })
        : null;
    // A stack coalesces the rows of all its members: a model that is not coalesced is not stacked either.
    this.stackable = this.coalescer ? stackable : null;
  }

  /** The artifact and architecture key of a version that may join a stack; null when it runs alone. */
  readonly stackable: Stackable | null;

  /** From now on this version's requests go through `stack` (null: its own session again). */
  useStack(stack: StackedScoring | null): void {
    this.stack = this.retired ? null : stack;
  }

  get stackedIn(): StackedScoring | null {
    return this.stack;
  }

  /** Called once when this version is retired. */
  onRetired(listener: () => void): void {
    this.retiredListeners.push(listener);
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
    if (this.retired) return;
    this.retired = true;
    this.stack = null;
    for (const listener of this.retiredListeners.splice(0)) listener();
    this.drift?.stop();
    if (this.users === 0) void this.close();
  }

  /**
   * Scores `rows` rows (row-major float32 [rows, F], and the categorical cells of a model that has categorical
   * columns); concurrent calls may share one ONNX run.
   */
  infer(data: Float32Array, rows: number, categorical?: string[]): Promise<RunOutput> {
    if (this.stack !== null) return this.stack.submit(this, data, rows);
    return this.coalescer ? this.coalescer.submit(data, rows) : this.runSession(data, rows, categorical);
  }

  async runSession(data: Float32Array, rows: number, categorical?: string[]): Promise<RunOutput> {
    const started = performance.now();
    const { numericCount, categoricalCount, task, image } = this.signature;
    const feeds: Record<string, Tensor> = {};
    if (image) feeds[INPUT_NAME] = imageTensor(data, rows, image);
    else if (numericCount > 0) feeds[INPUT_NAME] = new Tensor('float32', data, [rows, numericCount]);
    if (categoricalCount > 0) {
      if (categorical === undefined || categorical.length !== rows * categoricalCount) {
        throw new Error(`the model needs ${categoricalCount} categorical value(s) per row`);
      }
      feeds[CATEGORICAL_INPUT] = new Tensor('string', categorical, [rows, categoricalCount]);
    }
    if (task === 'regression') {
      const results = await this.session.run(feeds, REGRESSION_FETCHES);
      const values = results[VALUE_OUTPUT].data as Float32Array;
      this.observer.onRun((performance.now() - started) / 1000, rows, this.info);
      return { probabilities: new Float32Array(0), labels: new Int32Array(0), values };
    }
    const results = await this.session.run(feeds, FETCHES);
    const probabilities = results[PROBABILITIES_OUTPUT].data as Float32Array;
    const raw = results[LABEL_OUTPUT].data as BigInt64Array;
    const labels = new Int32Array(rows);
    for (let i = 0; i < rows; i++) labels[i] = Number(raw[i]);
    this.observer.onRun((performance.now() - started) / 1000, rows, this.info);
    return { probabilities, labels };
  }

  /**
   * One run on a row of zeros (empty strings for categorical features, i.e. unseen: all zeros in the graph), checking
   * the outputs match the signature: k probabilities per row, or one value per row for a regressor.
   */
  async warmUp(): Promise<void> {
    const { numericCount, categoricalCount, labels, task } = this.signature;
    const categorical = categoricalCount > 0 ? new Array<string>(categoricalCount).fill('') : undefined;
    const warm = await this.runSession(new Float32Array(numericCount), 1, categorical);
    if (task === 'regression') {
      if (warm.values?.length !== 1)
        throw new Error(`it returns ${warm.values?.length ?? 0} values per row, not 1`);
      return;
    }
    if (warm.probabilities.length !== labels.length) {
      throw new Error(
        `it returns ${warm.probabilities.length} probabilities per row for ${labels.length} classes`,
      );
    }
  }

  private async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.observer.dropTally(this.tally);
    await this.session.release().catch(() => undefined);
  }
}
