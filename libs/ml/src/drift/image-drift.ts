import { fitPsiReference, type PsiReference } from './psi';

/*
 * Drift of an image model, as the table models' PSI sees it: each image becomes a short row of derived features,
 * the mean intensity of each channel (0..255) and the predicted class index, binned against a training reference
 * (quantile bins of the training images' mean intensities; one bin per class, weighted by the training class
 * proportions). Pure functions: the trainer fits the reference, the gateway derives the rows.
 */

/** The drift reference an image model's metadata carries (`image_reference`). */
export interface ImageDriftReference {
  /** Per channel: PSI bins of each training image's mean intensity of that channel. */
  intensity: PsiReference[];
  /** Proportion of each class (by index) in the training split. */
  classes: number[];
}

/**
 * Mean intensity of each channel of each image: `pixels` is NHWC (`count` images of `pixelsPerImage` pixels of
 * `channels` values), the answer [count, channels] row-major.
 */
export function imageMeanIntensities(
  pixels: ArrayLike<number>,
  count: number,
  pixelsPerImage: number,
  channels: number,
): Float64Array {
  const means = new Float64Array(count * channels);
  const stride = pixelsPerImage * channels;
  for (let image = 0; image < count; image++) {
    const base = image * stride;
    for (let c = 0; c < channels; c++) {
      let sum = 0;
      for (let p = base + c; p < base + stride; p += channels) sum += pixels[p] as number;
      means[image * channels + c] = sum / pixelsPerImage;
    }
  }
  return means;
}

/**
 * Fits an image model's drift reference on its training images (NHWC pixel values 0..255) and their class indices;
 * `bins` quantile bins per channel (fewer when the means tie).
 */
export function fitImageDriftReference(
  pixels: ArrayLike<number>,
  shape: { height: number; width: number; channels: number },
  labels: ArrayLike<number>,
  classCount: number,
  bins = 10,
): ImageDriftReference {
  const count = labels.length;
  const perImage = shape.height * shape.width;
  if (count === 0) throw new Error('fitImageDriftReference: no images');
  if (pixels.length !== count * perImage * shape.channels) {
    throw new Error(
      `fitImageDriftReference: ${pixels.length} pixel values for ${count} images of ${shape.height}x${shape.width}x${shape.channels}`,
    );
  }
  const means = imageMeanIntensities(pixels, count, perImage, shape.channels);
  const intensity = Array.from({ length: shape.channels }, (_, c) =>
    fitPsiReference(
      Array.from({ length: count }, (_unused, i) => means[i * shape.channels + c] as number),
      bins,
    ),
  );
  const counts = new Array<number>(classCount).fill(0);
  for (let i = 0; i < count; i++) {
    const label = labels[i] as number;
    if (!Number.isInteger(label) || label < 0 || label >= classCount) {
      throw new Error(
        `fitImageDriftReference: label ${label} at ${i} is not a class index below ${classCount}`,
      );
    }
    counts[label]++;
  }
  return { intensity, classes: counts.map((n) => n / count) };
}

/** PSI bins of a class index: one bin per class (edges between consecutive indices), weighted by `proportions`. */
export function classIndexReference(proportions: readonly number[]): PsiReference {
  return {
    edges: proportions.slice(1).map((_, k) => k + 0.5),
    proportions: [...proportions],
  };
}

/**
 * The drift rows of `count` scored images: per image [mean intensity of each channel..., predicted class index],
 * written into `out` (row-major [count, channels + 1]).
 */
export function imageDriftRows(
  pixels: ArrayLike<number>,
  count: number,
  pixelsPerImage: number,
  channels: number,
  labels: ArrayLike<number>,
  out: Float32Array = new Float32Array(count * (channels + 1)),
): Float32Array {
  const means = imageMeanIntensities(pixels, count, pixelsPerImage, channels);
  const width = channels + 1;
  for (let i = 0; i < count; i++) {
    for (let c = 0; c < channels; c++) out[i * width + c] = means[i * channels + c] as number;
    out[i * width + channels] = labels[i] as number;
  }
  return out;
}
