import type { LayersModel } from '@tensorflow/tfjs';
import type { Activation, DenseLayerSpec } from '@sepal/ml';

const ACTIVATIONS: readonly Activation[] = ['relu', 'tanh', 'sigmoid', 'linear', 'softmax'];

/** Copies each Dense layer's weights out of TensorFlow.js; tf stores a Dense kernel as [inputs, units], row-major. */
export function extractDenseLayers(model: LayersModel): DenseLayerSpec[] {
  return model.layers.map((layer) => {
    const [kernel, bias, ...extra] = layer.getWeights();
    if (kernel === undefined || bias === undefined || extra.length > 0 || kernel.shape.length !== 2) {
      throw new Error(
        `extractDenseLayers: layer ${layer.name} is not a Dense layer with a kernel and a bias`,
      );
    }
    const [inputs, units] = kernel.shape;
    return {
      // dataSync may hand back the backend's own buffer: copy it.
      kernel: Float32Array.from(kernel.dataSync()),
      bias: Float32Array.from(bias.dataSync()),
      inputs,
      units,
      activation: activationOf(layer.getConfig().activation, layer.name),
    };
  });
}

function activationOf(configured: unknown, layerName: string): Activation {
  const activation = ACTIVATIONS.find((name) => name === configured);
  if (activation === undefined) {
    throw new Error(
      `extractDenseLayers: layer ${layerName} has an unsupported activation ${String(configured)}`,
    );
  }
  return activation;
}
