import { exportDenseClassifierToOnnx } from '@sepal/ml';

export const IRIS_FEATURES = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];
export const IRIS_CLASSES = ['setosa', 'versicolor', 'virginica'];

/**
 * An Iris-shaped dense classifier (4 features, a hidden layer of `hidden` units, 3 classes) with fixed weights, as the
 * trainer exports one: for the scoring spec and the batch benchmark, which measure scoring, not training.
 */
export function irisShapedModel(hidden = 16): Uint8Array {
  const kernel1 = Float32Array.from({ length: 4 * hidden }, (_, i) => Math.sin(i + 1) * 0.5);
  const kernel2 = Float32Array.from({ length: hidden * 3 }, (_, i) => Math.cos(i + 1) * 0.5);
  return exportDenseClassifierToOnnx(
    {
      featureNames: IRIS_FEATURES,
      labels: IRIS_CLASSES,
      standardizer: { mean: [5.8, 3.0, 3.8, 1.2], std: [0.8, 0.4, 1.8, 0.8] },
      layers: [
        { inputs: 4, units: hidden, activation: 'relu', kernel: kernel1, bias: new Float32Array(hidden) },
        { inputs: hidden, units: 3, activation: 'softmax', kernel: kernel2, bias: new Float32Array(3) },
      ],
    },
    { feature_names: JSON.stringify(IRIS_FEATURES), label_map: JSON.stringify(IRIS_CLASSES) },
  );
}
