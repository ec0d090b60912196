import type { InferenceSession } from 'onnxruntime-node';
import { createSignature } from '../../predict/model-signature';
import { LoadedModel, RunObserver } from '../loading/loaded-model';
import { ModelHolder } from './model-holder';

const observer: RunObserver = {
  onRun: () => undefined,
  tally: () => ({ add: () => undefined }),
  dropTally: () => undefined,
};

function fakeModel(version: number, runDelayMs = 0, batchWindowUs?: number) {
  const session = {
    runs: [] as number[],
    release: jest.fn(async () => undefined),
    async run(feeds: Record<string, { dims: readonly number[] }>) {
      const rows = feeds.features.dims[0];
      session.runs.push(rows);
      await new Promise((resolve) => setTimeout(resolve, runDelayMs));
      return {
        probabilities: { data: new Float32Array(rows * 2).fill(version) },
        label: { data: new BigInt64Array(rows).fill(BigInt(version % 2)) },
      };
    },
  };
  const info = {
    name: 'M',
    version,
    sha256: String(version).repeat(64).slice(0, 64),
    runId: null,
    datasetVersion: null,
    size: 1,
    loadedAt: '',
  };
  const model = new LoadedModel(
    session as unknown as InferenceSession,
    info,
    createSignature(['a'], ['x', 'y']),
    observer,
    { coalesce: batchWindowUs !== undefined, windowUs: batchWindowUs ?? 0, maxRows: 1000 },
  );
  return { model, session };
}

describe('ModelHolder', () => {
  it('swaps atomically; the old session is released only after its last request', async () => {
    const holder = new ModelHolder();
    const v1 = fakeModel(1, 20);
    holder.swap(v1.model);
    const held = holder.acquire()!;
    const running = held.infer(new Float32Array([1]), 1);
    const v2 = fakeModel(2);
    expect(holder.swap(v2.model)).toBe(v1.model);
    expect(holder.model).toBe(v2.model);
    expect(v1.session.release).not.toHaveBeenCalled();
    expect((await running).probabilities[0]).toBe(1);
    held.release();
    await Promise.resolve();
    expect(v1.session.release).toHaveBeenCalledTimes(1);
    expect(v2.session.release).not.toHaveBeenCalled();
  });

  it('releases an idle retired model at once and returns null while empty', () => {
    const holder = new ModelHolder();
    expect(holder.acquire()).toBeNull();
    const v1 = fakeModel(1);
    holder.swap(v1.model);
    holder.swap(fakeModel(2).model);
    expect(v1.session.release).toHaveBeenCalledTimes(1);
  });
});

describe('batch coalescing', () => {
  it('runs concurrent requests as one ONNX run and gives each its own rows', async () => {
    const { model, session } = fakeModel(3, 5, 500);
    const results = await Promise.all([
      model.infer(new Float32Array([1]), 1),
      model.infer(new Float32Array([2, 3]), 2),
      model.infer(new Float32Array([4]), 1),
    ]);
    expect(session.runs).toEqual([4]);
    expect(results.map((r) => r.labels.length)).toEqual([1, 2, 1]);
    expect(results.map((r) => r.probabilities.length)).toEqual([2, 4, 2]);
  });

  it('batches what arrives while a run is in flight', async () => {
    const { model, session } = fakeModel(3, 20, 100);
    const first = model.infer(new Float32Array([1]), 1);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const later = [model.infer(new Float32Array([2]), 1), model.infer(new Float32Array([3]), 1)];
    await Promise.all([first, ...later]);
    expect(session.runs).toEqual([1, 2]);
  });
});
