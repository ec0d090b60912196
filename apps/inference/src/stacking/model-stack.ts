import { ONNX_MODEL_INDEX_INPUT } from '@sepal/ml';
import { Tensor } from 'onnxruntime-node';
import { BatchCoalescer, type CoalescerOptions, type Share } from '../model/loading/batch-coalescer';
import {
  INPUT_NAME,
  LABEL_OUTPUT,
  PROBABILITIES_OUTPUT,
  type LoadedModel,
  type RunObserver,
  type RunOutput,
} from '../model/loading/loaded-model';
import type { OnnxSession } from '../model/loading/onnx-sessions.service';

/** The stacked model's second input: each row's index into the members (int64 [N]). */
export const MODEL_INDEX_INPUT = ONNX_MODEL_INDEX_INPUT;
const FETCHES = [PROBABILITIES_OUTPUT, LABEL_OUTPUT];

/**
 * Several loaded versions of one architecture scored by one ONNX session (libs/ml's stackClassifiers: the weights
 * stacked, gathered per row). The requests of every member share one coalescer, so a mix of many models under load
 * pays one ONNX run per batch, as one model does, instead of one run per model. A batch whose rows all belong to one
 * member runs on that member's own session, which is cheaper; a stacked run that fails is run again member by member
 * on their own sessions, so a fault of the stack never reaches an answer.
 */
export class ModelStack {
  private readonly coalescer: BatchCoalescer<LoadedModel>;
  private readonly slots: Map<LoadedModel, bigint>;
  private released = false;
  private failures = 0;
  /** Runs that scored the rows of two or more members together. */
  stackedRuns = 0;

  constructor(
    private readonly session: OnnxSession,
    readonly members: readonly LoadedModel[],
    private readonly width: number,
    private readonly observer: Pick<RunObserver, 'onRun'>,
    options: CoalescerOptions,
    /** Told once when a stacked run fails (the members then run alone; the stack keeps trying). */
    private readonly onFailure: (error: unknown) => void = () => undefined,
  ) {
    this.slots = new Map(members.map((member, index) => [member, BigInt(index)]));
    this.coalescer = new BatchCoalescer<LoadedModel>(
      width,
      (data, rows, shares) => this.run(data, rows, shares),
      {
        ...options,
      },
    );
  }

  /** Scores `rows` rows of `member` (one of the members); shares a run with the other members' requests. */
  submit(member: LoadedModel, data: Float32Array, rows: number): Promise<RunOutput> {
    return this.coalescer.submit(data, rows, member);
  }

  /** True while no request waits and no run is in flight: the session may be released. */
  get idle(): boolean {
    return this.coalescer.idle;
  }

  /** Scores `rows` rows, row i with member `index[i]`, in one stacked run (the build's parity check uses it). */
  async runStacked(data: Float32Array, rows: number, index: BigInt64Array): Promise<RunOutput> {
    const results = await this.session.run(
      {
        [INPUT_NAME]: new Tensor('float32', data, [rows, this.width]),
        [MODEL_INDEX_INPUT]: new Tensor('int64', index, [rows]),
      },
      FETCHES,
    );
    const probabilities = results[PROBABILITIES_OUTPUT].data as Float32Array;
    const raw = results[LABEL_OUTPUT].data as BigInt64Array;
    const labels = new Int32Array(rows);
    for (let i = 0; i < rows; i++) labels[i] = Number(raw[i]);
    return { probabilities, labels };
  }

  /** Releases the session once nothing is in flight (members have moved to another stack or to their own). */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    while (!this.coalescer.idle) await new Promise((resolve) => setTimeout(resolve, 20).unref());
    await this.session.release().catch(() => undefined);
  }

  private async run(
    data: Float32Array,
    rows: number,
    shares: readonly Share<LoadedModel>[],
  ): Promise<RunOutput> {
    const first = shares[0].owner;
    let alone = true;
    for (const share of shares) {
      if (share.owner !== first) {
        alone = false;
        break;
      }
    }
    if (alone) return first.runSession(data, rows);
    const started = performance.now();
    const index = new BigInt64Array(rows);
    let at = 0;
    for (const share of shares) {
      index.fill(this.slots.get(share.owner)!, at, at + share.rows);
      at += share.rows;
    }
    let output: RunOutput;
    this.stackedRuns++;
    try {
      output = await this.runStacked(data, rows, index);
    } catch (error) {
      if (this.failures++ === 0) this.onFailure(error);
      return this.runAlone(data, shares);
    }
    const seconds = (performance.now() - started) / 1000;
    const observed = new Set<LoadedModel>();
    for (const share of shares) {
      // One observation per member in the run, as if each had had a run of its own that long.
      if (observed.has(share.owner)) continue;
      observed.add(share.owner);
      this.observer.onRun(seconds, share.rows, share.owner.info);
    }
    return output;
  }

  /** Each share on its owner's own session, the outputs laid end to end as one run's would be. */
  private async runAlone(data: Float32Array, shares: readonly Share<LoadedModel>[]): Promise<RunOutput> {
    let at = 0;
    const outputs = await Promise.all(
      shares.map((share) => {
        const slice = data.subarray(at * this.width, (at + share.rows) * this.width);
        at += share.rows;
        return share.owner.runSession(slice, share.rows);
      }),
    );
    const probabilities = new Float32Array(outputs.reduce((sum, o) => sum + o.probabilities.length, 0));
    const labels = new Int32Array(outputs.reduce((sum, o) => sum + o.labels.length, 0));
    let p = 0;
    let l = 0;
    for (const output of outputs) {
      probabilities.set(output.probabilities, p);
      labels.set(output.labels, l);
      p += output.probabilities.length;
      l += output.labels.length;
    }
    return { probabilities, labels };
  }
}
