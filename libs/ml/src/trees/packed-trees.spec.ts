import { MessageChannel } from 'node:worker_threads';
import { trainGradientBoosting } from './gradient-boosting';
import { packedTreeBuffers, packTrees, unpackTrees } from './packed-trees';
import { trainRandomForest } from './random-forest';

const X = Array.from({ length: 60 }, (_, i) => [i % 7, (i * 13) % 11, i / 3]);
const Y = X.map(([a, b]) => (a + b > 8 ? 2 : a > 3 ? 1 : 0));

describe('packed trees', () => {
  it('unpacks a forest into the trees it packed, node for node', () => {
    const forest = trainRandomForest(X, Y, { task: 'classification', trees: 5 }, 11);
    expect(unpackTrees(packTrees(forest.trees))).toEqual(forest.trees);
  });

  it('unpacks a boosted regressor (one value a node) and no trees at all', () => {
    const boosted = trainGradientBoosting(
      X,
      X.map(([a, b]) => a * b),
      { task: 'regression', rounds: 4 },
      3,
    );
    expect(unpackTrees(packTrees(boosted.trees))).toEqual(boosted.trees);
    expect(unpackTrees(packTrees([]))).toEqual([]);
  });

  it('survives a postMessage that transfers its buffers', async () => {
    const forest = trainRandomForest(X, Y, { task: 'classification', trees: 3 }, 5);
    const packed = packTrees(forest.trees);
    const { port1, port2 } = new MessageChannel();
    const received = new Promise<unknown>((resolve) => port2.once('message', resolve));
    port1.postMessage(packed, packedTreeBuffers(packed));
    const copy = (await received) as typeof packed;
    port1.close();
    expect(packed.feature.length).toBe(0); // transferred, not copied
    expect(unpackTrees(copy)).toEqual(forest.trees);
  });

  it('names the arrays that do not add up', () => {
    const packed = packTrees(trainRandomForest(X, Y, { task: 'classification', trees: 2 }, 1).trees);
    expect(() => unpackTrees({ ...packed, left: packed.left.subarray(1) })).toThrow(
      /but arrays of \d+, \d+, /,
    );
  });
});
