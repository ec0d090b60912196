import {
  DEFAULT_FOREST_PARAMS,
  DEFAULT_GBDT_PARAMS,
  DEFAULT_TRAINING_PARAMS,
  mergeRandomForests,
  predictTreeProbabilities,
  trainRandomForest,
  forestParamsOf,
  type RandomForestModel,
  type TrainingParams,
} from '@sepal/ml';
import { irisTrainingInput, splitIris } from './support/iris';
import type { EpochMetrics } from '../src/training/training-input';
import type {
  DenseTrialOutput,
  TrialOutput,
  TrialTask,
  TreeTrialOutput,
} from '../src/workers/trial-protocol';
import { TrialFailedError, TrialPool } from '../src/workers/trial-pool';

/* Trials in worker threads (the built worker script, as in production: `npm test` builds first). */
const iris = splitIris(7);
const task = (params: Partial<TrainingParams> = {}): TrialTask => ({
  family: 'dense',
  ...irisTrainingInput(iris, { ...DEFAULT_TRAINING_PARAMS, epochs: 30, ...params }, 42),
  predictRows: iris.test.x,
});
const { params: _dense, ...irisData } = irisTrainingInput(iris, DEFAULT_TRAINING_PARAMS, 42);
const treeData = { ...irisData, predictRows: iris.test.x };

function dense(output: TrialOutput): DenseTrialOutput {
  if (output.family !== 'dense') throw new Error(`expected a dense output, got ${output.family}`);
  return output;
}
function trees(output: TrialOutput): TreeTrialOutput {
  if (output.family === 'dense' || output.family === 'cnn')
    throw new Error(`expected a tree output, got ${output.family}`);
  return output;
}

describe('TrialPool', () => {
  let pool: TrialPool;
  afterEach(() => pool?.close());

  it('trains a trial in a worker thread and returns weights, history and test probabilities', async () => {
    pool = new TrialPool({ workers: 1, backend: 'auto', memoryMb: 512, trialTimeoutS: 120 });
    const epochs: EpochMetrics[] = [];
    const output = dense(await pool.run({ task: task(), onEpoch: (metrics) => epochs.push(metrics) }));
    expect(output.history.length).toBeGreaterThan(0);
    expect(epochs.map((m) => m.epoch)).toEqual(output.history.map((m) => m.epoch));
    expect(output.predictions).toHaveLength(iris.test.x.length);
    const correct = output.predictions.filter((p, i) => p.indexOf(Math.max(...p)) === iris.test.y[i]).length;
    expect(correct / iris.test.y.length).toBeGreaterThanOrEqual(0.9);
    expect(output.spec.layers.length).toBe(2);
    expect(pool.backend).toBe(output.backend);
  });

  it('gives the same model for the same seed in two workers at once', async () => {
    pool = new TrialPool({ workers: 2, backend: 'auto', memoryMb: 512, trialTimeoutS: 120 });
    const [a, b] = (await Promise.all([pool.run({ task: task() }), pool.run({ task: task() })])).map(dense);
    expect(a.history).toEqual(b.history);
    expect(a.predictions).toEqual(b.predictions);
  });

  it('fails a trial over its time limit, naming it, and the next trial still runs', async () => {
    pool = new TrialPool({ workers: 1, backend: 'auto', memoryMb: 512, trialTimeoutS: 3 });
    await expect(
      pool.run({ task: task({ epochs: 100_000, earlyStoppingPatience: 0, batchSize: 1 }) }),
    ).rejects.toThrow('the trial exceeded its time limit: TRIAL_TIMEOUT_S=3');
    const quick = dense(await pool.run({ task: task({ epochs: 1 }) }));
    expect(quick.history).toHaveLength(1);
  });

  it('fails a trial over its memory cap alone: the other trials complete', async () => {
    pool = new TrialPool({ workers: 1, backend: 'auto', memoryMb: 32, trialTimeoutS: 120 });
    const results = await Promise.allSettled([
      pool.run({ task: task({ epochs: 2 }) }),
      // 2 layers of 4,096 units: 64 MiB of kernel alone, over the 32 MiB cap before the optimizer's state.
      pool.run({ task: task({ epochs: 2, hiddenUnits: 4096, hiddenLayers: 2 }) }),
      pool.run({ task: task({ epochs: 2 }) }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(
      /exceeded its memory cap.*TRIAL_MEMORY_MB=32/,
    );
  });

  it('stops a cancelled trial at once and reports it as cancelled', async () => {
    pool = new TrialPool({ workers: 1, backend: 'auto', memoryMb: 512, trialTimeoutS: 120 });
    const controller = new AbortController();
    const running = pool.run({
      task: task({ epochs: 100_000, earlyStoppingPatience: 0 }),
      signal: controller.signal,
      onEpoch: (metrics) => metrics.epoch === 3 && controller.abort(new Error('cancelled by test')),
    });
    const error = (await running.catch((e: unknown) => e)) as TrialFailedError;
    expect(error).toBeInstanceOf(TrialFailedError);
    expect(error.cancelled).toBe(true);
    expect(error.message).toBe('the trial was cancelled: cancelled by test');
  });

  it('trains tree trials in workers: forest parts add up to the forest grown at once, boosting stops early', async () => {
    pool = new TrialPool({ workers: 2, backend: 'auto', memoryMb: 512, trialTimeoutS: 120 });
    const params = { ...DEFAULT_FOREST_PARAMS, trees: 20 };
    const parts = (
      await Promise.all(
        [
          [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
          [10, 11, 12, 13, 14, 15, 16, 17, 18, 19],
        ].map((treeIndices) => pool.run({ task: { ...treeData, family: 'forest', params, treeIndices } })),
      )
    ).map(trees);
    const merged = mergeRandomForests(parts.map((part) => part.model as RandomForestModel));
    const whole = trainRandomForest(
      iris.train.x,
      iris.train.y,
      forestParamsOf(params, 'classification'),
      42,
      {
        classCount: 3,
      },
    );
    expect(merged.trees).toEqual(whole.trees);
    const summed = parts[0].predictScores.map((row, r) =>
      row.map((v, k) => v + parts[1].predictScores[r][k]),
    );
    const expected = predictTreeProbabilities(whole, iris.test.x);
    summed.forEach((row, r) => row.forEach((sum, k) => expect(sum / 20).toBeCloseTo(expected[r][k], 12)));
    const boosted = trees(
      await pool.run({
        task: { ...treeData, family: 'gbdt', params: { ...DEFAULT_GBDT_PARAMS, rounds: 500 } },
      }),
    );
    expect(boosted.model.kind).toBe('gradient_boosting');
    expect(boosted.predictScores).toHaveLength(iris.test.x.length);
    if (boosted.model.kind === 'gradient_boosting') {
      expect(boosted.model.history.length).toBeLessThan(500);
    }
  });
});
