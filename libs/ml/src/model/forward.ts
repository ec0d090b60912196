import type { DenseClassifierSpec, DenseLayerSpec, DenseRegressorSpec } from './dense-spec';
import { applyActivation } from './activations';
import {
  assertValidDenseClassifierSpec,
  assertValidDenseRegressorSpec,
  denseInputPreprocessing,
} from './validate-dense-spec';
import { encodeFeatureRows, type FeatureCell } from '../preprocessing/feature-preprocessing';
import { standardize } from '../preprocessing/standardizer';

type Rows = readonly (readonly FeatureCell[])[];

/**
 * Reference forward pass in float64: preprocess (impute, standardise, one-hot), then each dense layer with its
 * activation. Returns one probability row per input row; the ONNX export must agree with it.
 */
export function predictProba(spec: DenseClassifierSpec, rows: Rows): number[][] {
  assertValidDenseClassifierSpec(spec);
  // The legacy all-numeric spec keeps standardize's checks (finite numbers only).
  const encoded = spec.preprocessing
    ? encodeFeatureRows(spec.preprocessing, rows)
    : standardize(denseInputPreprocessing(spec).standardizer!, rows as readonly (readonly number[])[]);
  return encoded.map((row) =>
    spec.layers.reduce((activations, layer) => applyDenseLayer(layer, activations), row),
  );
}

/** Reference forward pass of a regressor in float64: one predicted value per row. */
export function predictValues(spec: DenseRegressorSpec, rows: Rows): number[] {
  assertValidDenseRegressorSpec(spec);
  return encodeFeatureRows(spec.preprocessing, rows).map(
    (row) => spec.layers.reduce((activations, layer) => applyDenseLayer(layer, activations), row)[0],
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
