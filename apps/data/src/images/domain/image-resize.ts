import type { ImageSpec } from '@sepal/contracts';
import { DecodedImage, ImageFileError } from './image-decode';

/**
 * A decoded picture as model input: `spec.height` × `spec.width` × `spec.channels` unsigned bytes, row-major HWC.
 * Transparency is composited on black; grey is the Rec. 601 luminance (0.299 R + 0.587 G + 0.114 B); resampling is
 * separable with a triangle filter widened by the scale when shrinking (no aliasing), as PIL's antialiased bilinear.
 */
export function toModelInput(image: DecodedImage, spec: ImageSpec): Uint8Array {
  const { height, width, channels } = spec;
  if (spec.resize === 'exact' && (image.width !== width || image.height !== height)) {
    throw new ImageFileError(
      `is ${image.width}x${image.height}, the dataset takes ${width}x${height} (resize=exact)`,
    );
  }
  const source = toChannels(image, channels);
  if (image.width === width && image.height === height) return round(source);
  let targetW = width;
  let targetH = height;
  if (spec.resize === 'fit') {
    const scale = Math.min(width / image.width, height / image.height);
    targetW = Math.max(1, Math.round(image.width * scale));
    targetH = Math.max(1, Math.round(image.height * scale));
  }
  const horizontal = resampleAxis(source, image.width, image.height, channels, targetW, 'x');
  const both = resampleAxis(horizontal, targetW, image.height, channels, targetH, 'y');
  if (targetW === width && targetH === height) return round(both);
  const out = new Uint8Array(width * height * channels);
  const left = Math.floor((width - targetW) / 2);
  const top = Math.floor((height - targetH) / 2);
  for (let y = 0; y < targetH; y++) {
    for (let i = 0; i < targetW * channels; i++) {
      out[((top + y) * width + left) * channels + i] = clampByte(both[y * targetW * channels + i]);
    }
  }
  return out;
}

/** RGBA bytes → float channels (1 grey or 3 RGB), alpha composited on black. */
function toChannels(image: DecodedImage, channels: 1 | 3): Float32Array {
  const n = image.width * image.height;
  const out = new Float32Array(n * channels);
  const { rgba } = image;
  for (let p = 0; p < n; p++) {
    const a = rgba[p * 4 + 3] / 255;
    const r = rgba[p * 4] * a;
    const g = rgba[p * 4 + 1] * a;
    const b = rgba[p * 4 + 2] * a;
    if (channels === 1) out[p] = 0.299 * r + 0.587 * g + 0.114 * b;
    else {
      out[p * 3] = r;
      out[p * 3 + 1] = g;
      out[p * 3 + 2] = b;
    }
  }
  return out;
}

/** Resamples one axis of an HWC float image to `size` samples with a (widened) triangle filter. */
function resampleAxis(
  source: Float32Array,
  width: number,
  height: number,
  channels: number,
  size: number,
  axis: 'x' | 'y',
): Float32Array {
  const length = axis === 'x' ? width : height;
  if (length === size) return source;
  const outW = axis === 'x' ? size : width;
  const outH = axis === 'x' ? height : size;
  const out = new Float32Array(outW * outH * channels);
  const scale = length / size;
  const support = Math.max(1, scale);
  for (let o = 0; o < size; o++) {
    const centre = (o + 0.5) * scale - 0.5;
    const from = Math.max(0, Math.floor(centre - support));
    const to = Math.min(length - 1, Math.ceil(centre + support));
    const weights: number[] = [];
    let total = 0;
    for (let i = from; i <= to; i++) {
      const w = Math.max(0, 1 - Math.abs(i - centre) / support);
      weights.push(w);
      total += w;
    }
    if (total === 0) {
      // Upscaling past the last sample: the nearest one.
      weights.fill(0);
      weights[Math.min(weights.length - 1, Math.max(0, Math.round(centre) - from))] = 1;
      total = 1;
    }
    const lines = axis === 'x' ? height : width;
    for (let line = 0; line < lines; line++) {
      for (let c = 0; c < channels; c++) {
        let sum = 0;
        for (let k = 0; k < weights.length; k++) {
          const i = from + k;
          const at = axis === 'x' ? (line * width + i) * channels + c : (i * width + line) * channels + c;
          sum += source[at] * weights[k];
        }
        const to = axis === 'x' ? (line * outW + o) * channels + c : (o * outW + line) * channels + c;
        out[to] = sum / total;
      }
    }
  }
  return out;
}

const clampByte = (v: number) => Math.min(255, Math.max(0, Math.round(v)));

function round(values: Float32Array): Uint8Array {
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = clampByte(values[i]);
  return out;
}
