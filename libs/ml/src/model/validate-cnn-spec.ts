import { convOutputSize, type CnnClassifierSpec, type CnnLayerSpec } from './cnn-spec';

/** Lists every inconsistency of a trained CNN: weight sizes, non-finite numbers, shapes, a missing softmax output. */
export function cnnClassifierSpecProblems(spec: CnnClassifierSpec): string[] {
  const problems: string[] = [];
  const { height, width, channels } = spec.input;
  if (![height, width, channels].every((size) => Number.isInteger(size) && size > 0)) {
    problems.push(
      `input must have positive integer height, width and channels, got ${height}x${width}x${channels}`,
    );
    return problems;
  }
  if (!(spec.scale > 0) || !Number.isFinite(spec.scale))
    problems.push(`scale must be positive, got ${spec.scale}`);
  if (spec.labels.length < 2)
    problems.push(`labels has ${spec.labels.length} class(es), at least 2 are needed`);
  let shape: number[] = [height, width, channels];
  spec.layers.forEach((layer, index) => {
    const where = `layer ${index} (${layer.kind})`;
    const next = layerOutput(layer, shape, where, problems);
    if (next) shape = next;
  });
  const last = spec.layers.at(-1);
  if (!last || last.kind !== 'dense' || last.activation !== 'softmax' || last.units !== spec.labels.length) {
    problems.push(`the last layer must be a Dense softmax of ${spec.labels.length} units (one per label)`);
  }
  return problems;
}

export function assertValidCnnClassifierSpec(spec: CnnClassifierSpec): void {
  const problems = cnnClassifierSpecProblems(spec);
  if (problems.length > 0) throw new Error(`Invalid CNN classifier spec: ${problems.join('; ')}`);
}

/** The shape after `layer`, or undefined (with the problem recorded) when the layer does not fit its input. */
function layerOutput(
  layer: CnnLayerSpec,
  shape: number[],
  where: string,
  problems: string[],
): number[] | undefined {
  const spatial = shape.length === 3;
  const [height = 0, width = 0, channels = 0] = shape;
  switch (layer.kind) {
    case 'conv2d': {
      if (!spatial) return refuse(problems, `${where} comes after the flatten`);
      if (layer.inChannels !== channels) {
        return refuse(problems, `${where} expects ${layer.inChannels} channels, gets ${channels}`);
      }
      const size = layer.kernelHeight * layer.kernelWidth * layer.inChannels * layer.filters;
      checkValues(layer.kernel, size, `${where} kernel`, problems);
      if (layer.bias) checkValues(layer.bias, layer.filters, `${where} bias`, problems);
      return windowed(
        shape,
        [layer.kernelHeight, layer.kernelWidth],
        layer.strides,
        layer.padding,
        layer.filters,
        where,
        problems,
      );
    }
    case 'batchNorm':
      for (const name of ['gamma', 'beta', 'movingMean', 'movingVariance'] as const) {
        checkValues(layer[name], channels, `${where} ${name}`, problems);
      }
      if (layer.movingVariance.some((value) => value < 0)) problems.push(`${where} has a negative variance`);
      if (!(layer.epsilon > 0)) problems.push(`${where} epsilon must be positive, got ${layer.epsilon}`);
      return shape;
    case 'relu':
      return shape;
    case 'maxPool':
      if (!spatial) return refuse(problems, `${where} comes after the flatten`);
      return windowed(shape, layer.poolSize, layer.strides, layer.padding, channels, where, problems);
    case 'flatten':
      if (!spatial) return refuse(problems, `${where} comes after the flatten`);
      return [height * width * channels];
    case 'dense':
      if (spatial) return refuse(problems, `${where} needs a flatten before it`);
      if (layer.inputs !== shape[0])
        return refuse(problems, `${where} expects ${layer.inputs} inputs, gets ${shape[0]}`);
      checkValues(layer.kernel, layer.inputs * layer.units, `${where} kernel`, problems);
      checkValues(layer.bias, layer.units, `${where} bias`, problems);
      return [layer.units];
    default:
      return refuse(problems, `${where} is not a known layer kind`);
  }
}

function windowed(
  [height = 0, width = 0]: number[],
  window: [number, number],
  strides: [number, number],
  padding: 'same' | 'valid',
  channels: number,
  where: string,
  problems: string[],
): number[] | undefined {
  if (![...window, ...strides].every((size) => Number.isInteger(size) && size > 0)) {
    return refuse(problems, `${where} needs positive integer window sizes and strides`);
  }
  const out = [
    convOutputSize(height, window[0], strides[0], padding),
    convOutputSize(width, window[1], strides[1], padding),
  ];
  if (out.some((size) => size < 1))
    return refuse(problems, `${where} leaves nothing of a ${height}x${width} input`);
  return [...out, channels];
}

function checkValues(values: Float32Array, expected: number, what: string, problems: string[]): void {
  if (values.length !== expected) problems.push(`${what} has ${values.length} values, expected ${expected}`);
  else if (!values.every(Number.isFinite)) problems.push(`${what} has non-finite values`);
}

function refuse(problems: string[], problem: string): undefined {
  problems.push(problem);
  return undefined;
}
