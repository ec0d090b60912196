import {
  encodedWidth,
  featurePreprocessingProblems,
  numericPreprocessing,
  type FeaturePreprocessing,
} from '../preprocessing/feature-preprocessing';
import type { DenseClassifierSpec, DenseLayerSpec, DenseRegressorSpec } from './dense-spec';

const ACTIVATIONS = new Set(['relu', 'tanh', 'sigmoid', 'linear', 'softmax']);

/** Lists every inconsistency in a classifier spec (shapes, non-finite numbers, missing softmax output). */
export function denseClassifierSpecProblems(spec: DenseClassifierSpec): string[] {
  const classCount = spec.labels.length;
  const problems: string[] = [];
  if (classCount < 2) problems.push(`labels has ${classCount} class(es), at least 2 are needed`);
  problems.push(...inputProblems(spec.featureNames, denseInputPreprocessing(spec)));
  problems.push(...layersProblems(spec.layers, denseInputWidth(spec), 'softmax', classCount, 'labels'));
  return problems;
}

/** Lists every inconsistency in a regressor spec (shapes, non-finite numbers, an output that is not 1 linear unit). */
export function denseRegressorSpecProblems(spec: DenseRegressorSpec): string[] {
  return [
    ...inputProblems(spec.featureNames, spec.preprocessing),
    ...layersProblems(spec.layers, encodedWidth(spec.preprocessing), 'linear', 1, 'target'),
  ];
}

/** The preprocessing a dense spec applies to its raw features: its own, or the legacy all-numeric standardizer. */
export function denseInputPreprocessing(
  spec: DenseClassifierSpec | DenseRegressorSpec,
): FeaturePreprocessing {
  if (spec.preprocessing) return spec.preprocessing;
  return numericPreprocessing(spec.featureNames, (spec as DenseClassifierSpec).standardizer);
}

function denseInputWidth(spec: DenseClassifierSpec): number {
  return encodedWidth(denseInputPreprocessing(spec));
}

function inputProblems(featureNames: readonly string[], preprocessing: FeaturePreprocessing): string[] {
  const problems: string[] = [];
  if (featureNames.length === 0) problems.push('featureNames is empty');
  const columns = preprocessing.columns.map((column) => column.name);
  if (columns.join('\u0000') !== featureNames.join('\u0000')) {
    problems.push(`the preprocessing's columns [${columns.join(', ')}] are not featureNames`);
  }
  problems.push(...featurePreprocessingProblems(preprocessing));
  return problems;
}

function layersProblems(
  layers: readonly DenseLayerSpec[],
  inputWidth: number,
  outputActivation: 'softmax' | 'linear',
  outputUnits: number,
  outputWhat: string,
): string[] {
  const problems: string[] = [];
  if (layers.length === 0) {
    problems.push('there are no layers');
    return problems;
  }
  let expectedInputs = inputWidth;
  layers.forEach((layer, index) => {
    problems.push(...layerProblems(layer, index, expectedInputs));
    expectedInputs = layer.units;
  });
  const output = layers[layers.length - 1];
  if (output.activation !== outputActivation) {
    problems.push(`the output layer's activation is '${output.activation}', expected '${outputActivation}'`);
  }
  if (output.units !== outputUnits) {
    problems.push(`the output layer has ${output.units} units for ${outputUnits} ${outputWhat}`);
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

export function assertValidDenseRegressorSpec(spec: DenseRegressorSpec): void {
  const problems = denseRegressorSpecProblems(spec);
  if (problems.length > 0) {
    throw new Error(`Invalid dense regressor spec: ${problems.join('; ')}`);
  }
}
