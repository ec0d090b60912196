import { trainRandomForest } from '@sepal/ml';
import type { DenseTrialOutput, TreeTrialOutput } from './trial-protocol';
import { packTreeOutput, receivedTrialOutput } from './tree-output-transfer';

describe('tree trial output on its way back from a worker', () => {
  it('arrives as the output the worker packed, trees and all', () => {
    const x = Array.from({ length: 40 }, (_, i) => [i % 5, i % 3]);
    const model = trainRandomForest(
      x,
      x.map(([a]) => (a > 2 ? 1 : 0)),
      { task: 'classification', trees: 4 },
      9,
    );
    const output: TreeTrialOutput = {
      family: 'forest',
      model,
      valScores: [[1, 3]],
      predictScores: [[4, 0]],
      backend: 'cpu',
    };
    const expected = structuredClone(output);
    const { output: sent, transfer } = packTreeOutput(output);
    expect(sent).not.toHaveProperty('model.trees');
    expect(transfer).toHaveLength(8);
    expect(receivedTrialOutput(structuredClone(sent))).toEqual(expected);
  });

  it('passes a network trial through as it is', () => {
    const dense = { family: 'dense', predictions: [[0.2, 0.8]] } as unknown as DenseTrialOutput;
    expect(receivedTrialOutput(dense)).toBe(dense);
  });
});
