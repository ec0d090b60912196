import type { LoggedGroup } from '@sepal/contracts';
import type { ModelInfo, RunOutput } from '../model/loading/loaded-model';
import type { ModelSignature } from '../predict/model-signature';
import { imageMeanIntensities } from '@sepal/ml';
import { imageDriftFeatures } from '../drift/image-drift-features';

/** A scored request as PredictService hands it to the log (its buffers may be reused once it is answered). */
export interface ScoredRequest {
  info: ModelInfo;
  signature: ModelSignature;
  parsed: { rows: number; data: Float32Array; categorical?: string[] };
  output: RunOutput;
  ids: readonly string[];
  latencyMs: number;
  keyName: string | null;
}

/** The test figures live quality is compared with (the version's other metrics stay in the registry). */
const TEST_FIGURES = ['test_accuracy', 'test_macro_f1', 'test_rmse', 'test_mae'] as const;

function testFigures(metrics: Record<string, number>): Record<string, number> {
  const figures: Record<string, number> = {};
  for (const name of TEST_FIGURES) if (Number.isFinite(metrics[name])) figures[name] = metrics[name];
  return figures;
}

/**
 * A float32 input as the shortest decimal that reads back as the same float32 (5.1, not 5.099999904632568), so the log
 * shows what the caller sent; null for a missing (NaN) value.
 */
function finiteOrNull(value: number): number | null {
  if (!Number.isFinite(value)) return null;
  // Most inputs have few decimals: a multiply and a round find them, far cheaper than toPrecision.
  for (let scale = 10; scale <= 1e6; scale *= 10) {
    const short = Math.round(value * scale) / scale;
    if (Math.fround(short) === value) return short;
  }
  for (let digits = 6; digits < 9; digits++) {
    const short = Number(value.toPrecision(digits));
    if (Math.fround(short) === value) return short;
  }
  return value;
}

/**
 * What the log keeps of an image (its pixels would make every record kilobytes long): its shape and the mean
 * intensity of each channel, the statistic drift watches.
 */
function imageSummary(
  image: NonNullable<ModelSignature['image']>,
  data: Float32Array,
  row: number,
): Record<string, number | string> {
  const perImage = image.height * image.width;
  const size = perImage * image.channels;
  const means = imageMeanIntensities(
    data.subarray(row * size, (row + 1) * size),
    1,
    perImage,
    image.channels,
  );
  const summary: Record<string, number | string> = {
    image: `${image.height}x${image.width}x${image.channels}`,
  };
  const names = imageDriftFeatures(image.channels);
  for (let c = 0; c < image.channels; c++) summary[names[c]] = Math.round(means[c] * 1000) / 1000;
  return summary;
}

/** The input names of a signature's logged rows: the features, or an image's shape and channel means. */
function loggedFeatures(signature: ModelSignature): string[] {
  if (signature.image) return ['image', ...imageDriftFeatures(signature.image.channels)];
  if (signature.columns === null) return [...signature.featureNames];
  return signature.columns.map((column) => column.name);
}

/**
 * An empty group for the rows of `scored`'s model version, its columns ready to append to (see appendRows): what the
 * rows share (model, version, sha256, test figures, input names, a classifier's classes) said once.
 */
export function emptyGroup(scored: ScoredRequest): LoggedGroup {
  const { info, signature } = scored;
  return {
    model: info.name,
    version: info.version,
    sha256: info.sha256,
    ...(info.testMetrics ? { testMetrics: testFigures(info.testMetrics) } : {}),
    features: loggedFeatures(signature),
    ...(scored.output.values !== undefined
      ? { values: [] }
      : { labels: [...signature.labels], classes: [], probabilities: [] }),
    predictionIds: [],
    inputs: [],
    latencyMs: [],
    keyNames: [],
    at: [],
  };
}

/**
 * Appends rows `from` to `to` (exclusive) of a scored request to its model version's group, copying them out of the
 * request's buffers: per row the inputs in feature order (an image: its shape and channel means), the class index
 * and probabilities (or the value), the latency, the key and `at`, each onto its column.
 */
export function appendRows(
  group: LoggedGroup,
  scored: ScoredRequest,
  at: number,
  from: number,
  to: number,
): void {
  const { signature, output } = scored;
  const { data, categorical } = scored.parsed;
  const { numericCount, categoricalCount } = signature;
  const { inputs, features } = group;
  const classes = signature.labels.length;
  for (let r = from; r < to; r++) {
    group.predictionIds.push(scored.ids[r]);
    if (signature.image) {
      const summary = imageSummary(signature.image, data, r);
      for (const name of features) inputs.push(summary[name]);
    } else if (signature.columns === null) {
      for (let i = 0; i < numericCount; i++) inputs.push(finiteOrNull(data[r * numericCount + i]));
    } else {
      for (const column of signature.columns)
        inputs.push(
          column.type === 'numeric'
            ? finiteOrNull(data[r * numericCount + column.slot])
            : (categorical?.[r * categoricalCount + column.slot] ?? null),
        );
    }
    if (group.values) group.values.push(output.values![r]);
    else {
      group.classes!.push(output.labels[r]);
      for (let c = r * classes; c < (r + 1) * classes; c++)
        group.probabilities!.push(output.probabilities[c]);
    }
    group.latencyMs.push(scored.latencyMs);
    group.keyNames.push(scored.keyName);
    group.at.push(at);
  }
}
