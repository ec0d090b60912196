import { DatasetFeatureValues, UnprocessableError } from '@sepal/contracts';
import { DatasetSchema } from '../datasets/domain/version-content';

export interface ValidatedFeedback {
  features: number[];
  label: number;
  flags: string[];
}

/** Orders named features by the schema, or checks an array's length; names every missing or extra feature. */
export function featureVector(schema: DatasetSchema, features: DatasetFeatureValues): number[] {
  if (Array.isArray(features)) {
    if (features.length !== schema.features.length) {
      throw new UnprocessableError(
        `expected ${schema.features.length} feature values (${schema.features.join(', ')}), got ${features.length}`,
      );
    }
    return numeric(schema, features);
  }
  const missing = schema.features.filter((name) => !(name in features));
  const extra = Object.keys(features).filter((name) => !schema.features.includes(name));
  if (missing.length || extra.length) {
    const parts = [
      missing.length ? `missing feature(s): ${missing.join(', ')}` : '',
      extra.length ? `unknown feature(s): ${extra.join(', ')}` : '',
    ].filter(Boolean);
    throw new UnprocessableError(parts.join('; '), `Expected exactly: ${schema.features.join(', ')}.`);
  }
  return numeric(
    schema,
    schema.features.map((name) => features[name]),
  );
}

function numeric(schema: DatasetSchema, cells: (number | string | null)[]): number[] {
  cells.forEach((cell, i) => {
    if (typeof cell !== 'number') {
      throw new UnprocessableError(
        `feature '${schema.features[i]}' must be a number, got ${JSON.stringify(cell)}`,
      );
    }
  });
  return cells as number[];
}

/**
 * Validates a labelled sample against the dataset schema. Values far outside the training range (beyond half
 * the range past either end) are accepted but flagged, since real drift starts with such samples.
 */
export function validateFeedback(
  schema: DatasetSchema,
  features: DatasetFeatureValues,
  label: string | number,
  trainRanges: { min: number; max: number }[],
): ValidatedFeedback {
  const vector = featureVector(schema, features);
  const labelIndex = schema.labels.indexOf(String(label));
  if (labelIndex < 0) {
    throw new UnprocessableError(`unknown class '${label}'`, `Known classes: ${schema.labels.join(', ')}.`);
  }
  const flags: string[] = [];
  vector.forEach((value, i) => {
    const range = trainRanges[i];
    if (!range || !Number.isFinite(range.min)) return;
    const margin = (range.max - range.min) / 2;
    if (value < range.min - margin || value > range.max + margin) {
      flags.push(
        `${schema.features[i]}=${value} is far outside the training range [${range.min}, ${range.max}]`,
      );
    }
  });
  return { features: vector, label: labelIndex, flags };
}
