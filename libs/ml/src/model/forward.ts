import type { DenseClassifierSpec, DenseLayerSpec } from './dense-spec';
import { applyActivation } from './activations';
import { assertValidDenseClassifierSpec } from './validate-dense-spec';
import { standardize } from '../preprocessing/standardizer';
import type { Matrix } from '../util/matrix';

/**
 * Reference forward pass in float64: standardise, then each dense layer with its activation.
 * Returns one probability row per input row; the ONNX export must agree with it.
 */
export function predictProba(spec: DenseClassifierSpec, rows: Matrix): number[][] {
  assertValidDenseClassifierSpec(spec);
  return standardize(spec.standardizer, rows).map((row) =>
    spec.layers.reduce((activations, layer) => applyDenseLayer(layer, activations), row),
  );
}

function applyDenseLayer(layer: DenseLayerSpec, input: readonly number[]): number[] {
  const preActivation: number[] = [];
  for (let unit = 0; unit < layer.units; unit++) {
    let sum = layer.bias[unit];
    for (let i = 0; i < layer.inputs; i++) {
      sum += input[i] * layer.kernel[i * layer.units + unit];
    }
    preActivation.push(sum);
  }
  return applyActivation(layer.activation, preActivation);
}

/** Index of the largest value; ties go to the lowest index, as in numpy and ONNX ArgMax. */
export function argmax(values: ArrayLike<number>): number {
  if (values.length === 0) {
    throw new Error('argmax: empty input');
  }
  let best = 0;
  for (let i = 1; i < values.length; i++) {
    if (values[i] > values[best]) best = i;
  }
  return best;
}
