import { convOutputSize, samePadding, type CnnClassifierSpec, type CnnLayerSpec } from '../model/cnn-spec';
import { assertValidCnnClassifierSpec } from '../model/validate-cnn-spec';
import {
  floatAttribute,
  floatTensor,
  graphNode,
  intAttribute,
  intsAttribute,
  tensorValueInfo,
} from './onnx-builders';
import type { NodeMessage, TensorMessage } from './onnx-messages';
import {
  BATCH_DIMENSION,
  classifierOutputs,
  encodeOnnxModel,
  labelFromProbabilitiesNode,
  ONNX_INPUT_NAME,
  ONNX_PROBABILITIES_OUTPUT,
} from './onnx-model';
import { TensorElementType } from './onnx-proto';

/** The element type of the exported model's image input: raw bytes, or the same pixel values as float32. */
export type ImageInputType = 'uint8' | 'float32';

/**
 * The metadata keys the exporter adds, so the gateway knows an image model from its table peers (the ONNX metadata
 * contract of @sepal/contracts: input_kind, image_shape, input_type).
 */
export function imageInputMetadata(
  input: { height: number; width: number; channels: number },
  inputType: ImageInputType,
): Record<string, string> {
  return {
    input_kind: 'image',
    image_shape: JSON.stringify([input.height, input.width, input.channels]),
    input_type: inputType,
  };
}

/**
 * Serialises a CNN classifier as an ONNX model that takes images as TensorFlow.js does, "features" [N, H, W, C] of
 * pixel values 0..255 (uint8 or float32), and returns "probabilities" (float32 [N, k]) and "label" (int64 [N]) like
 * every Sepal classifier. The preprocessing is in the graph: the division by `spec.scale`, then NHWC -> NCHW for the
 * ONNX convolutions (kernels HWIO -> OIHW, TensorFlow's 'same' padding as explicit pads, batch-norm epsilon set), and
 * back to NHWC before the flatten so the dense weights see TensorFlow's order. `metadata` goes to metadata_props, with
 * the image input's description added (imageInputMetadata: input_kind=image, image_shape, input_type).
 */
export function exportCnnClassifierToOnnx(
  spec: CnnClassifierSpec,
  metadata: Record<string, string>,
  { inputType = 'float32' }: { inputType?: ImageInputType } = {},
): Uint8Array {
  assertValidCnnClassifierSpec(spec);
  const { height, width, channels } = spec.input;
  const nodes: NodeMessage[] = [];
  const initializers: TensorMessage[] = [floatTensor('pixel_scale', [], [spec.scale])];
  let current = ONNX_INPUT_NAME;
  if (inputType === 'uint8') {
    nodes.push(graphNode('Cast', [current], ['pixels'], [intAttribute('to', TensorElementType.FLOAT)]));
    current = 'pixels';
  }
  nodes.push(graphNode('Div', [current, 'pixel_scale'], ['scaled']));
  nodes.push(graphNode('Transpose', ['scaled'], ['scaled_nchw'], [intsAttribute('perm', [0, 3, 1, 2])]));
  current = 'scaled_nchw';
  let size: [number, number] = [height, width];
  spec.layers.forEach((layer, index) => {
    const isOutput = index === spec.layers.length - 1;
    const step = layerNodes(layer, index, current, size, isOutput);
    nodes.push(...step.nodes);
    initializers.push(...step.initializers);
    current = step.output;
    size = step.size;
  });
  nodes.push(labelFromProbabilitiesNode());
  const elementType = inputType === 'uint8' ? TensorElementType.UINT8 : TensorElementType.FLOAT;
  return encodeOnnxModel(
    {
      name: 'sepal_cnn_classifier',
      node: nodes,
      initializer: initializers,
      input: [tensorValueInfo(ONNX_INPUT_NAME, elementType, [BATCH_DIMENSION, height, width, channels])],
      output: classifierOutputs(spec.labels.length),
    },
    { ...metadata, ...imageInputMetadata(spec.input, inputType) },
    'exportCnnClassifierToOnnx',
  );
}

interface LayerNodes {
  nodes: NodeMessage[];
  initializers: TensorMessage[];
  output: string;
  /** Height and width after the layer (unchanged once flattened). */
  size: [number, number];
}

function layerNodes(
  layer: CnnLayerSpec,
  index: number,
  input: string,
  size: [number, number],
  isOutput: boolean,
): LayerNodes {
  const name = `${layer.kind}_${index}`;
  const same = (nodes: NodeMessage[], initializers: TensorMessage[] = []): LayerNodes => ({
    nodes,
    initializers,
    output: name,
    size,
  });
  switch (layer.kind) {
    case 'conv2d': {
      const window: [number, number] = [layer.kernelHeight, layer.kernelWidth];
      const { pads, out } = windowGeometry(size, window, layer.strides, layer.padding);
      const initializers = [
        floatTensor(`${name}_w`, [layer.filters, layer.inChannels, ...window], hwioToOihw(layer)),
      ];
      if (layer.bias) initializers.push(floatTensor(`${name}_b`, [layer.filters], layer.bias));
      const inputs = [input, `${name}_w`, ...(layer.bias ? [`${name}_b`] : [])];
      const attributes = [
        intsAttribute('kernel_shape', window),
        intsAttribute('strides', layer.strides),
        intsAttribute('pads', pads),
        intsAttribute('dilations', [1, 1]),
      ];
      return {
        nodes: [graphNode('Conv', inputs, [name], attributes)],
        initializers,
        output: name,
        size: out,
      };
    }
    case 'batchNorm': {
      const parts = ['gamma', 'beta', 'movingMean', 'movingVariance'] as const;
      const initializers = parts.map((part) =>
        floatTensor(`${name}_${part}`, [layer[part].length], layer[part]),
      );
      // Set explicitly: ONNX's default epsilon (1e-5) is not TensorFlow.js's (1e-3).
      const attributes = [floatAttribute('epsilon', layer.epsilon), floatAttribute('momentum', 0.99)];
      const inputs = [input, ...parts.map((part) => `${name}_${part}`)];
      return same([graphNode('BatchNormalization', inputs, [name], attributes)], initializers);
    }
    case 'relu':
      return same([graphNode('Relu', [input], [name])]);
    case 'maxPool': {
      const { pads, out } = windowGeometry(size, layer.poolSize, layer.strides, layer.padding);
      const attributes = [
        intsAttribute('kernel_shape', layer.poolSize),
        intsAttribute('strides', layer.strides),
        intsAttribute('pads', pads),
      ];
      return {
        nodes: [graphNode('MaxPool', [input], [name], attributes)],
        initializers: [],
        output: name,
        size: out,
      };
    }
    case 'flatten':
      // Back to NHWC first: TensorFlow flattens (h, w, c) with the channel fastest.
      return same([
        graphNode('Transpose', [input], [`${name}_nhwc`], [intsAttribute('perm', [0, 2, 3, 1])]),
        graphNode('Flatten', [`${name}_nhwc`], [name], [intAttribute('axis', 1)]),
      ]);
    case 'dense': {
      // The kernel is row-major [inputs x units]: Gemm's B as it is.
      const initializers = [
        floatTensor(`${name}_w`, [layer.inputs, layer.units], layer.kernel),
        floatTensor(`${name}_b`, [layer.units], layer.bias),
      ];
      const output = isOutput ? ONNX_PROBABILITIES_OUTPUT : name;
      const activation =
        layer.activation === 'softmax'
          ? graphNode('Softmax', [`${name}_linear`], [output], [intAttribute('axis', -1)])
          : graphNode('Relu', [`${name}_linear`], [output]);
      return {
        nodes: [graphNode('Gemm', [input, `${name}_w`, `${name}_b`], [`${name}_linear`]), activation],
        initializers,
        output,
        size,
      };
    }
    default:
      throw new Error(`exportCnnClassifierToOnnx: unknown layer ${JSON.stringify(layer satisfies never)}`);
  }
}

/** ONNX pads [top, left, bottom, right] reproducing TensorFlow's padding, and the output height and width. */
function windowGeometry(
  [height, width]: [number, number],
  window: [number, number],
  strides: [number, number],
  padding: 'same' | 'valid',
): { pads: number[]; out: [number, number] } {
  const out: [number, number] = [
    convOutputSize(height, window[0], strides[0], padding),
    convOutputSize(width, window[1], strides[1], padding),
  ];
  if (padding === 'valid') return { pads: [0, 0, 0, 0], out };
  const [top, bottom] = samePadding(height, window[0], strides[0]);
  const [left, right] = samePadding(width, window[1], strides[1]);
  return { pads: [top, left, bottom, right], out };
}

/** TensorFlow's [kh, kw, in, out] kernel as ONNX's [out, in, kh, kw]. */
function hwioToOihw(layer: Extract<CnnLayerSpec, { kind: 'conv2d' }>): Float32Array {
  const { kernelHeight: kh, kernelWidth: kw, inChannels: ci, filters: co, kernel } = layer;
  const out = new Float32Array(kernel.length);
  for (let h = 0; h < kh; h++) {
    for (let w = 0; w < kw; w++) {
      for (let i = 0; i < ci; i++) {
        for (let o = 0; o < co; o++) {
          out[((o * ci + i) * kh + h) * kw + w] = kernel[((h * kw + w) * ci + i) * co + o] as number;
        }
      }
    }
  }
  return out;
}
