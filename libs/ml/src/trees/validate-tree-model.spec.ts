import { forestOf, stump } from '../../test/fixtures/tree-data';
import type { DecisionTree, RandomForestModel } from './tree-model';
import { assertValidTreeEnsemble, treeEnsembleProblems } from './validate-tree-model';

const tree = stump([1, 0], [0, 1], { feature: 1, threshold: 0.5 });

const forest = forestOf([tree]);

const withTree = (changes: Partial<DecisionTree>): RandomForestModel => ({
  ...forest,
  trees: [{ ...tree, ...changes }],
});

describe('treeEnsembleProblems', () => {
  it('accepts a sound ensemble', () => {
    expect(treeEnsembleProblems(forest)).toEqual([]);
    expect(() => assertValidTreeEnsemble(forest, 'test')).not.toThrow();
  });

  it.each<[string, RandomForestModel, string]>([
    ['no trees', { ...forest, trees: [], treeIndices: [] }, 'it has no trees'],
    [
      'a feature out of range',
      withTree({ feature: [2, -1, -1] }),
      'tree 0: node 0 splits on feature 2, not one of the 2',
    ],
    [
      'a threshold float32 cannot hold',
      withTree({ threshold: [0.1, 0, 0] }),
      'tree 0: node 0 has threshold 0.1, not a finite float32 value',
    ],
    [
      'a child before its parent',
      withTree({ left: [0, -1, -1] }),
      'tree 0: node 0 has child 0, expected a later node below 3',
    ],
    ['a node with two parents', withTree({ left: [2, -1, -1] }), 'tree 0: node 1 has 0 parents, expected 1'],
    [
      'values of the wrong length',
      withTree({ value: [0, 1] }),
      'tree 0: threshold, left, right need 3 entries and value 6',
    ],
    [
      'a leaf value that is not finite',
      withTree({ value: [0, 0, Number.NaN, 0, 0, 1] }),
      'tree 0: leaf 1 has a value that is not finite',
    ],
    [
      'one class',
      { ...forest, classCount: 1 },
      'classCount 1 does not suit classification (2 or more classes, or 1 for regression)',
    ],
  ])('reports %s', (_, model, problem) => {
    expect(treeEnsembleProblems(model)).toEqual([problem]);
    expect(() => assertValidTreeEnsemble(model, 'export')).toThrow(
      `export: invalid tree ensemble: ${problem}`,
    );
  });
});
