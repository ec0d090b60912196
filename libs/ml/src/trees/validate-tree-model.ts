import type { DecisionTree, TreeEnsembleModel } from './tree-model';

/**
 * Every structural problem of a tree ensemble (empty when it is sound): a model that crossed a thread or was read
 * back from storage is checked before it is exported or used.
 */
export function treeEnsembleProblems(model: TreeEnsembleModel): string[] {
  const problems: string[] = [];
  const kind: string = model.kind;
  if (kind !== 'random_forest' && kind !== 'gradient_boosting') {
    return [`kind ${JSON.stringify(kind)} is not random_forest or gradient_boosting`];
  }
  if (model.task !== 'classification' && model.task !== 'regression') {
    return [`task ${JSON.stringify(model.task)} is not classification or regression`];
  }
  if (!Number.isInteger(model.featureCount) || model.featureCount < 1) {
    problems.push(`featureCount ${model.featureCount} is not a whole number >= 1`);
  }
  const classes = model.task === 'classification';
  if (classes ? !Number.isInteger(model.classCount) || model.classCount < 2 : model.classCount !== 1) {
    problems.push(
      `classCount ${model.classCount} does not suit ${model.task} (2 or more classes, or 1 for regression)`,
    );
  }
  if (!Array.isArray(model.trees) || model.trees.length === 0) return [...problems, 'it has no trees'];
  let outputs = 1;
  if (model.kind === 'random_forest') {
    outputs = classes ? model.classCount : 1;
    if (model.treeIndices?.length !== model.trees.length) {
      problems.push(`${model.treeIndices?.length} tree indices for ${model.trees.length} trees`);
    }
  } else {
    const perRound = classes ? model.classCount : 1;
    if (model.treesPerRound !== perRound || model.baseScore?.length !== perRound) {
      problems.push(`treesPerRound and baseScore must match the ${perRound} scores of a ${model.task} model`);
    } else if (model.trees.length % perRound !== 0) {
      problems.push(`${model.trees.length} trees is not a whole number of rounds of ${perRound}`);
    }
    if (!model.baseScore.every(Number.isFinite)) problems.push('baseScore has a value that is not finite');
  }
  if (problems.length > 0) return problems;
  model.trees.forEach((tree, index) => {
    problems.push(
      ...treeProblems(tree, model.featureCount, outputs).map((problem) => `tree ${index}: ${problem}`),
    );
  });
  return problems;
}

export function assertValidTreeEnsemble(model: TreeEnsembleModel, what: string): void {
  const problems = treeEnsembleProblems(model);
  if (problems.length > 0) {
    const shown = problems.slice(0, 5).join('; ');
    const more = problems.length > 5 ? `; and ${problems.length - 5} more` : '';
    throw new Error(`${what}: invalid tree ensemble: ${shown}${more}`);
  }
}

function treeProblems(tree: DecisionTree, featureCount: number, outputs: number): string[] {
  const nodes = tree.feature?.length ?? 0;
  if (nodes === 0) return ['no nodes'];
  const arrays = [tree.threshold, tree.left, tree.right];
  if (arrays.some((array) => array?.length !== nodes) || tree.value?.length !== nodes * outputs) {
    return [`threshold, left, right need ${nodes} entries and value ${nodes * outputs}`];
  }
  if (tree.gain?.length !== featureCount) return [`gain needs ${featureCount} entries`];
  const parents = new Uint8Array(nodes);
  for (let node = 0; node < nodes; node++) {
    const feature = tree.feature[node];
    if (feature === -1) {
      for (let k = 0; k < outputs; k++) {
        if (!Number.isFinite(tree.value[node * outputs + k]))
          return [`leaf ${node} has a value that is not finite`];
      }
      continue;
    }
    if (!Number.isInteger(feature) || feature < 0 || feature >= featureCount) {
      return [`node ${node} splits on feature ${feature}, not one of the ${featureCount}`];
    }
    const threshold = tree.threshold[node];
    if (!Number.isFinite(threshold) || Math.fround(threshold) !== threshold) {
      return [`node ${node} has threshold ${threshold}, not a finite float32 value`];
    }
    // Children come after their parent, so there is no cycle; with one parent each, every node is in the tree.
    for (const child of [tree.left[node], tree.right[node]]) {
      if (!Number.isInteger(child) || child <= node || child >= nodes) {
        return [`node ${node} has child ${child}, expected a later node below ${nodes}`];
      }
      parents[child]++;
    }
  }
  const orphan = parents.findIndex((count, node) => node > 0 && count !== 1);
  return orphan === -1 ? [] : [`node ${orphan} has ${parents[orphan]} parents, expected 1`];
}
