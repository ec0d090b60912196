/** The drift "features" of an image model: each channel's mean intensity, then the predicted class. */
export function imageDriftFeatures(channels: number): string[] {
  const intensity =
    channels === 1
      ? ['mean_intensity']
      : ['red', 'green', 'blue'].slice(0, channels).map((c) => `mean_intensity_${c}`);
  return [...intensity, 'predicted_class'];
}
