import { Logger } from '@nestjs/common';
import { classifierStackKey, exportDenseClassifierToOnnx } from '@sepal/ml';
import { waitFor } from '@sepal/testing/wait-for';
import { FakeSession, InlineStackBuilder } from '../../test/fakes';
import { InferenceConfig } from '../inference.config';
import { InferenceMetrics } from '../metrics/inference-metrics.service';
import { LoadedModel } from '../model/loading/loaded-model';
import { OnnxSession, OnnxSessions } from '../model/loading/onnx-sessions.service';
import { createSignature } from '../predict/model-signature';
import { ModelStacks } from './model-stacks.service';

const LABELS = ['x', 'y', 'z'];

/** A real 2-feature, 3-class dense classifier: what the stack key and stackClassifiers read. */
const artifact = (bias: number) =>
  exportDenseClassifierToOnnx(
    {
      featureNames: ['a', 'b'],
      labels: LABELS,
      standardizer: { mean: [0, 0], std: [1, 1] },
      layers: [
        {
          kernel: new Float32Array([1, 0, -1, 0, 1, 0]),
          bias: new Float32Array([bias, 0, 0]),
          inputs: 2,
          units: 3,
          activation: 'softmax',
        },
      ],
    },
    {},
  );

/**
 * Stacked sessions that answer like the members' FakeSessions ('agree') or with every class moved by one
 * ('disagree'); `released` counts the sessions released.
 */
class StackedSessions extends OnnxSessions {
  mode: 'agree' | 'disagree' = 'agree';
  created = 0;
  released = 0;

  async create(): Promise<OnnxSession> {
    this.created++;
    const shift = this.mode === 'agree' ? 0 : 1;
    const inner = new FakeSession(LABELS.length);
    return {
      run: async (feeds) => {
        const results = await inner.run(feeds);
        const probabilities = (results.probabilities as unknown as { data: Float32Array }).data;
        const k = LABELS.length;
        const moved = probabilities.map((_, i) => probabilities[i - (i % k) + (((i % k) + k - shift) % k)]);
        return { ...results, probabilities: { data: moved } } as unknown as typeof results;
      },
      release: async () => {
        this.released++;
      },
    };
  }
}

function setup() {
  const config = InferenceConfig.load({
    REGISTRY_URL: 'http://registry.test',
    PREDICT_STACK_DELAY_MS: '0',
  });
  const sessions = new StackedSessions();
  const metrics = new InferenceMetrics();
  const stacks = new ModelStacks(config, sessions, metrics, new InlineStackBuilder());
  const member = (name: string, bias: number) => {
    const bytes = artifact(bias);
    const model = new LoadedModel(
      new FakeSession(LABELS.length),
      { name, version: 1, sha256: name, runId: null, datasetVersion: null, size: bytes.length, loadedAt: '' },
      createSignature(['a', 'b'], LABELS),
      metrics,
      { coalesce: true, windowUs: 0, maxRows: 1000 },
      null,
      { key: classifierStackKey(bytes)!, bytes },
    );
    stacks.add(model);
    return model;
  };
  return { stacks, sessions, metrics, member };
}

describe('ModelStacks', () => {
  let errors: jest.SpyInstance;
  beforeEach(() => {
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    errors = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  });
  afterEach(() => jest.restoreAllMocks());

  it('stacks the models of one architecture once the stacked session agrees with their own', async () => {
    const { stacks, metrics, member } = setup();
    const models = [member('m1', 0), member('m2', 1)];
    await stacks.settled();
    expect(stacks.current()).toHaveLength(1);
    expect(stacks.current()[0].members).toEqual(models);
    for (const model of models) expect(model.stackedIn).toBe(stacks.current()[0]);
    expect((await metrics.stackedVersions.get()).values[0].value).toBe(2);
  });

  it('does not use a stack whose answers differ from the models’ own: they run alone', async () => {
    const { stacks, sessions, member } = setup();
    sessions.mode = 'disagree';
    const models = [member('m1', 0), member('m2', 1)];
    await stacks.settled();
    expect(sessions.created).toBe(1);
    expect(stacks.current()).toEqual([]);
    expect(sessions.released).toBe(1);
    for (const model of models) expect(model.stackedIn).toBeNull();
    expect(errors).toHaveBeenCalledWith(
      expect.stringMatching(
        /the stack of m1 v1, m2 v1 is not used, .* m1 v1: probability 0 of probe row 0 differs by/,
      ),
    );
  });

  it('rebuilds without a retired version and releases the stack it leaves', async () => {
    const { stacks, sessions, member } = setup();
    const [first, second, third] = [member('m1', 0), member('m2', 1), member('m3', 2)];
    await stacks.settled();
    const before = stacks.current()[0];
    second.retire();
    expect(second.stackedIn).toBeNull();
    await stacks.settled();
    expect(stacks.current()[0].members).toEqual([first, third]);
    expect(stacks.current()[0]).not.toBe(before);
    // The left stack is released once its runs in flight end: wait for it, not for a fixed time.
    await waitFor(() => sessions.released === 1, { description: 'the left stack released' });
    expect(sessions.released).toBe(1);
    first.retire();
    await stacks.settled();
    expect(stacks.current()).toEqual([]);
    expect(third.stackedIn).toBeNull();
  });

  it('leaves out models that cannot be stacked and a lone model of its architecture', async () => {
    const { stacks, sessions, member } = setup();
    member('m1', 0);
    await stacks.settled();
    expect(sessions.created).toBe(0);
    expect(stacks.current()).toEqual([]);
  });
});
