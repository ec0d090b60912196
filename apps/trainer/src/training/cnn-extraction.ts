import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import type { CnnLayerSpec, ConvPadding } from '@sepal/ml';

/**
 * Copies a trained CNN out of TensorFlow.js as plain numbers, layer by layer: Conv2D kernels stay HWIO, Dense
 * kernels [inputs, units]; Dropout (an identity at inference) and the InputLayer are left out.
 */
export function extractCnnLayers(model: LayersModel): CnnLayerSpec[] {
  const layers: CnnLayerSpec[] = [];
  for (const layer of model.layers) {
    const config = layer.getConfig();
    const weights = layer.getWeights().map(copy);
    const kind = layer.getClassName();
    const fail = (why: string) => new Error(`extractCnnLayers: layer ${layer.name} (${kind}) ${why}`);
    switch (kind) {
      case 'Conv2D': {
        const [kernel, bias] = weights;
        const [kernelHeight, kernelWidth, inChannels, filters] = layer.getWeights()[0]?.shape ?? [];
        if (!kernel || !kernelHeight || !kernelWidth || !inChannels || !filters)
          throw fail('has no 4-D kernel');
        if (config['activation'] !== 'linear') throw fail(`has activation ${String(config['activation'])}`);
        if (config['dataFormat'] !== 'channelsLast') throw fail('is not channels-last');
        if ([config['dilationRate']].flat().some((rate) => rate !== 1)) throw fail('is dilated');
        layers.push({
          kind: 'conv2d',
          kernel,
          ...(bias ? { bias } : {}),
          kernelHeight,
          kernelWidth,
          inChannels,
          filters,
          strides: pair(config['strides']),
          padding: padding(config['padding'], fail),
        });
        break;
      }
      case 'BatchNormalization': {
        const [gamma, beta, movingMean, movingVariance] = weights;
        if (!gamma || !beta || !movingMean || !movingVariance || config['center'] === false) {
          throw fail('needs gamma, beta, moving mean and moving variance (center and scale on)');
        }
        layers.push({
          kind: 'batchNorm',
          gamma,
          beta,
          movingMean,
          movingVariance,
          epsilon: Number(config['epsilon']),
        });
        break;
      }
      case 'Activation':
        if (config['activation'] !== 'relu') throw fail(`has activation ${String(config['activation'])}`);
        layers.push({ kind: 'relu' });
        break;
      case 'MaxPooling2D':
        layers.push({
          kind: 'maxPool',
          poolSize: pair(config['poolSize']),
          strides: pair(config['strides'] ?? config['poolSize']),
          padding: padding(config['padding'], fail),
        });
        break;
      case 'Flatten':
        layers.push({ kind: 'flatten' });
        break;
      case 'Dense': {
        const [kernel, bias] = weights;
        const [inputs, units] = layer.getWeights()[0]?.shape ?? [];
        const activation = config['activation'];
        if (!kernel || !bias || !inputs || !units) throw fail('has no kernel and bias');
        if (activation !== 'relu' && activation !== 'softmax')
          throw fail(`has activation ${String(activation)}`);
        layers.push({ kind: 'dense', kernel, bias, inputs, units, activation });
        break;
      }
      case 'Dropout':
      case 'InputLayer':
        break;
      default:
        throw fail('is not a layer the CNN family exports');
    }
  }
  return layers;
}

/** dataSync may hand back the backend's own buffer: copy it. */
function copy(tensor: Tensor): Float32Array {
  return Float32Array.from(tensor.dataSync());
}

function pair(value: unknown): [number, number] {
  const values = [value].flat() as number[];
  return [values[0] as number, (values[1] ?? values[0]) as number];
}

function padding(value: unknown, fail: (why: string) => Error): ConvPadding {
  if (value !== 'same' && value !== 'valid') throw fail(`has padding ${String(value)}`);
  return value;
}
