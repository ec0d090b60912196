import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
/** The TensorFlow.js namespace (a local alias: tf-backend.ts imports this file). */
type TensorFlow = typeof import('@tensorflow/tfjs');

/*
 * @tensorflow/tfjs-backend-wasm 4.22 registers no Conv2DBackpropFilter (tfjs issue 8474), so the gradient of a
 * convolution, and with it any CNN training, fails on the WASM backend. Training a small CNN there (conv 'same' and
 * 'valid', batch normalisation, max and average pooling, dropout, dense, Adam) showed it is the only kernel missing:
 * Conv2DBackpropInput, MaxPoolGrad, AvgPoolGrad and the batch-norm gradient (built from elementwise ops) exist.
 *
 * The kernel below lays the input patches out as a matrix in WASM memory (im2col) and hands the product to the
 * backend's own Transpose and BatchMatMul (XNNPACK), so the multiply-adds run in WASM SIMD rather than in JavaScript:
 *   dW[kh,kw,ci,co] = sum over b,y,x of x[b, y*sh + kh - padTop, x*sw + kw - padLeft, ci] * dy[b,y,x,co]
 *                   = (P^T dy)[(kh,kw,ci), co], with P[(b,y,x), (kh,kw,ci)] the patch of each output position.
 * Checked against the CPU backend's kernel in wasm-conv-kernels.spec.ts.
 */

/** Largest patch matrix (floats, 64 MiB) built in one go; a bigger batch is processed in slices of images. */
const MAX_PATCH_FLOATS = 16 * 1024 * 1024;

export const CONV2D_BACKPROP_FILTER = 'Conv2DBackpropFilter';

interface Conv2DBackpropFilterAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | { type: string };
  dataFormat?: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
  dilations?: [number, number] | number;
}

/** Registers the missing training kernels on the 'wasm' backend; idempotent. */
export function registerWasmTrainingKernels(tf: TensorFlow): void {
  if (tf.getKernel(CONV2D_BACKPROP_FILTER, 'wasm')) return;
  tf.registerKernel(conv2dBackpropFilterConfig(tf));
}

export function conv2dBackpropFilterConfig(tf: TensorFlow, maxPatchFloats = MAX_PATCH_FLOATS): KernelConfig {
  const kernelFunc = (args: {
    inputs: Record<string, TensorInfo>;
    backend: unknown;
    attrs?: NamedAttrMap;
  }) => {
    const { inputs, attrs } = args;
    const backend = args.backend as BackendWasm;
    const x = inputs['x'];
    const dy = inputs['dy'];
    if (!x || !dy) throw new Error('Conv2DBackpropFilter (wasm): inputs x and dy are required');
    return conv2dBackpropFilter(
      tf,
      backend,
      x,
      dy,
      attrs as unknown as Conv2DBackpropFilterAttrs,
      maxPatchFloats,
    );
  };
  return { kernelName: CONV2D_BACKPROP_FILTER, backendName: 'wasm', kernelFunc: kernelFunc as KernelFunc };
}

function conv2dBackpropFilter(
  tf: TensorFlow,
  backend: BackendWasm,
  x: TensorInfo,
  dy: TensorInfo,
  attrs: Conv2DBackpropFilterAttrs,
  maxPatchFloats: number,
): TensorInfo {
  const { strides, pad, dataFormat = 'NHWC', dimRoundingMode, filterShape, dilations = 1 } = attrs;
  if (dataFormat !== 'NHWC') {
    throw new Error(`Conv2DBackpropFilter (wasm): only the NHWC layout is supported, got ${dataFormat}`);
  }
  if ([dilations].flat().some((rate) => rate !== 1)) {
    throw new Error(
      `Conv2DBackpropFilter (wasm): dilation rates other than 1 are not supported, got ${String(dilations)}`,
    );
  }
  if (x.dtype !== 'float32' || dy.dtype !== 'float32') {
    throw new Error(
      `Conv2DBackpropFilter (wasm): float32 tensors expected, got x ${x.dtype} and dy ${dy.dtype}`,
    );
  }
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    strides,
    1,
    pad as 'valid' | 'same' | number,
    dimRoundingMode,
    false,
    'channelsLast',
  );
  const geometry: PatchGeometry = {
    inHeight: info.inHeight,
    inWidth: info.inWidth,
    inChannels: info.inChannels,
    outHeight: info.outHeight,
    outWidth: info.outWidth,
    filterHeight: info.filterHeight,
    filterWidth: info.filterWidth,
    strideHeight: info.strideHeight,
    strideWidth: info.strideWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
  };
  const patchSize = info.filterHeight * info.filterWidth * info.inChannels;
  const outChannels = info.outChannels;
  const rowsPerImage = info.outHeight * info.outWidth;
  const imagesPerSlice = Math.max(1, Math.floor(maxPatchFloats / Math.max(1, rowsPerImage * patchSize)));
  const matMul = tf.getKernel('BatchMatMul', 'wasm')?.kernelFunc;
  const add = tf.getKernel('Add', 'wasm')?.kernelFunc;
  const transpose = tf.getKernel('Transpose', 'wasm')?.kernelFunc;
  if (!matMul || !add || !transpose) {
    throw new Error(
      'Conv2DBackpropFilter (wasm): the BatchMatMul, Add and Transpose kernels are not registered',
    );
  }

  let total: TensorInfo | undefined;
  for (let first = 0; first < info.batchSize; first += imagesPerSlice) {
    const images = Math.min(imagesPerSlice, info.batchSize - first);
    const rows = images * rowsPerImage;
    const patches = backend.makeOutput([1, rows, patchSize], 'float32');
    // Views are taken after the allocation: growing the WASM heap detaches earlier ones.
    fillPatches(
      backend.typedArrayFromHeap(x) as Float32Array,
      backend.typedArrayFromHeap(patches) as Float32Array,
      geometry,
      first,
      images,
    );
    const whole = images === info.batchSize;
    const dySlice = whole
      ? { dataId: dy.dataId, shape: [1, rows, outChannels], dtype: dy.dtype }
      : sliceRows(backend, dy, first * rowsPerImage * outChannels, rows, outChannels);
    // BatchMatMul with transposeA takes a slow path (14x slower measured); the Transpose kernel plus a plain product
    // is the fast one.
    const patchesT = transpose({ inputs: { x: patches }, backend, attrs: { perm: [0, 2, 1] } }) as TensorInfo;
    backend.disposeData(patches.dataId);
    const part = matMul({
      inputs: { a: patchesT, b: dySlice },
      backend,
      attrs: { transposeA: false, transposeB: false },
    }) as TensorInfo;
    backend.disposeData(patchesT.dataId);
    if (!whole) backend.disposeData(dySlice.dataId);
    if (total) {
      const sum = add({ inputs: { a: total, b: part }, backend, attrs: {} }) as TensorInfo;
      backend.disposeData(total.dataId);
      backend.disposeData(part.dataId);
      total = sum;
    } else {
      total = part;
    }
  }
  if (!total) {
    // An empty batch: the gradient is zero.
    return backend.makeOutput(filterShape, 'float32', undefined, new Float32Array(patchSize * outChannels));
  }
  return { dataId: total.dataId, shape: [...filterShape], dtype: 'float32' };
}

/** dy rows [start, start + rows) as a [1, rows, channels] tensor of its own (a copy only when slicing). */
function sliceRows(
  backend: BackendWasm,
  dy: TensorInfo,
  offset: number,
  rows: number,
  channels: number,
): TensorInfo {
  const length = rows * channels;
  const out = backend.makeOutput([1, rows, channels], 'float32');
  const source = backend.typedArrayFromHeap(dy) as Float32Array;
  (backend.typedArrayFromHeap(out) as Float32Array).set(source.subarray(offset, offset + length));
  return out;
}

export interface PatchGeometry {
  inHeight: number;
  inWidth: number;
  inChannels: number;
  outHeight: number;
  outWidth: number;
  filterHeight: number;
  filterWidth: number;
  strideHeight: number;
  strideWidth: number;
  padTop: number;
  padLeft: number;
}

/**
 * im2col for NHWC: row (b, y, x) of `patches` holds the input window of output position (y, x) of image
 * `first + b`, ordered (kh, kw, ci) like an HWIO kernel; positions in the padding are zeros.
 */
export function fillPatches(
  input: Float32Array,
  patches: Float32Array,
  g: PatchGeometry,
  first: number,
  images: number,
): void {
  const channels = g.inChannels;
  const imageSize = g.inHeight * g.inWidth * channels;
  const rowSize = g.filterHeight * g.filterWidth * channels;
  let row = 0;
  for (let b = 0; b < images; b++) {
    const imageOffset = (first + b) * imageSize;
    for (let y = 0; y < g.outHeight; y++) {
      for (let x = 0; x < g.outWidth; x++) {
        let out = row * rowSize;
        for (let kh = 0; kh < g.filterHeight; kh++) {
          const iy = y * g.strideHeight + kh - g.padTop;
          const rowInside = iy >= 0 && iy < g.inHeight;
          for (let kw = 0; kw < g.filterWidth; kw++) {
            const ix = x * g.strideWidth + kw - g.padLeft;
            if (rowInside && ix >= 0 && ix < g.inWidth) {
              const start = imageOffset + (iy * g.inWidth + ix) * channels;
              if (channels === 1) patches[out] = input[start] as number;
              else patches.set(input.subarray(start, start + channels), out);
            } else {
              patches.fill(0, out, out + channels);
            }
            out += channels;
          }
        }
        row++;
      }
    }
  }
}
