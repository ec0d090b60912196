import type { DenseClassifierSpec, DenseLayerSpec } from './dense-spec';

const ACTIVATIONS = new Set(['relu', 'tanh', 'sigmoid', 'linear', 'softmax']);

/** Lists every inconsistency in a classifier spec (shapes, non-finite numbers, missing softmax output). */
export function denseClassifierSpecProblems(spec: DenseClassifierSpec): string[] {
  const problems: string[] = [];
  const featureCount = spec.featureNames.length;
  const classCount = spec.labels.length;
  if (featureCount === 0) problems.push('featureNames is empty');
  if (classCount < 2) problems.push(`labels has ${classCount} class(es), at least 2 are needed`);
  const { mean, std } = spec.standardizer;
  if (mean.length !== featureCount || std.length !== featureCount) {
    problems.push(
      `standardizer has ${mean.length} means and ${std.length} deviations for ${featureCount} features`,
    );
  }
  if (!mean.every(Number.isFinite)) problems.push('standardizer.mean has a non-finite value');
  if (!std.every((value) => Number.isFinite(value) && value > 0)) {
    problems.push('standardizer.std must be finite and > 0');
  }
  if (spec.layers.length === 0) {
    problems.push('there are no layers');
    return problems;
  }
  let expectedInputs = featureCount;
  spec.layers.forEach((layer, index) => {
    problems.push(...layerProblems(layer, index, expectedInputs));
    expectedInputs = layer.units;
  });
  const output = spec.layers[spec.layers.length - 1];
  if (output.activation !== 'softmax') {
    problems.push(`the output layer's activation is '${output.activation}', expected 'softmax'`);
  }
  if (output.units !== classCount) {
    problems.push(`the output layer has ${output.units} units for ${classCount} labels`);
  }
  return problems;
}

function layerProblems(layer: DenseLayerSpec, index: number, expectedInputs: number): string[] {
  const problems: string[] = [];
  const at = `layers[${index}]`;
  if (!Number.isInteger(layer.units) || layer.units < 1)
    problems.push(`${at}.units must be a positive integer`);
  if (layer.inputs !== expectedInputs) {
    problems.push(`${at}.inputs is ${layer.inputs}, expected ${expectedInputs} (the previous width)`);
  }
  if (layer.kernel.length !== layer.inputs * layer.units) {
    problems.push(
      `${at}.kernel has ${layer.kernel.length} values, expected ${layer.inputs} x ${layer.units}`,
    );
  }
  if (layer.bias.length !== layer.units) {
    problems.push(`${at}.bias has ${layer.bias.length} values, expected ${layer.units}`);
  }
  if (!layer.kernel.every(Number.isFinite) || !layer.bias.every(Number.isFinite)) {
    problems.push(`${at} has a non-finite weight`);
  }
  if (!ACTIVATIONS.has(layer.activation)) problems.push(`${at}.activation '${layer.activation}' is unknown`);
  return problems;
}

export function assertValidDenseClassifierSpec(spec: DenseClassifierSpec): void {
  const problems = denseClassifierSpecProblems(spec);
  if (problems.length > 0) {
    throw new Error(`Invalid dense classifier spec: ${problems.join('; ')}`);
  }
}
