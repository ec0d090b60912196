import {
  DatasetFeatureValues,
  DatasetSchema,
  FeatureCell,
  featureColumnsOf,
  UnprocessableError,
} from '@sepal/contracts';

export interface ValidatedFeedback {
  features: FeatureCell[];
  /** The class index (classification) or the target value (regression). */
  label: number;
  /** The class name, or the target value as text. */
  className: string;
  flags: string[];
}

const NEW_SCHEMA_HINT =
  'Feedback must fit the dataset schema; import the data with newSchema=true to change it.';

/** Orders named features by the schema, or checks an array's length; names every missing or extra feature. */
export function featureVector(schema: DatasetSchema, features: DatasetFeatureValues): FeatureCell[] {
  let cells: FeatureCell[];
  if (Array.isArray(features)) {
    if (features.length !== schema.features.length) {
      throw new UnprocessableError(
        `expected ${schema.features.length} feature values (${schema.features.join(', ')}), got ${features.length}`,
      );
    }
    cells = features;
  } else {
    const missing = schema.features.filter((name) => !(name in features));
    const extra = Object.keys(features).filter((name) => !schema.features.includes(name));
    if (missing.length || extra.length) {
      const parts = [
        missing.length ? `missing feature(s): ${missing.join(', ')}` : '',
        extra.length ? `unknown feature(s): ${extra.join(', ')}` : '',
      ].filter(Boolean);
      throw new UnprocessableError(parts.join('; '), `Expected exactly: ${schema.features.join(', ')}.`);
    }
    cells = schema.features.map((name) => features[name]);
  }
  const columns = featureColumnsOf(schema);
  return cells.map((cell, i) => {
    if (cell === null) return null;
    if (columns[i].type === 'categorical') return String(cell);
    if (typeof cell !== 'number') {
      throw new UnprocessableError(
        `feature '${schema.features[i]}' is numeric in the dataset schema; ${JSON.stringify(cell).slice(0, 80)} is not a number (send null for a missing value)`,
        NEW_SCHEMA_HINT,
      );
    }
    return cell;
  });
}

/** The stored label of a sample: a known class's index, or a regression target value. */
export function encodeLabel(
  schema: DatasetSchema,
  label: string | number,
): { label: number; className: string } {
  if (schema.task === 'regression') {
    const value = typeof label === 'number' ? label : Number(label);
    if (typeof label === 'string' && (label.trim() === '' || !Number.isFinite(value))) {
      throw new UnprocessableError(
        `label '${label}' is not a number, and '${schema.target}' is a regression target`,
        'Send the true value as a number.',
      );
    }
    return { label: value, className: String(value) };
  }
  const name = String(label);
  const index = schema.labels.indexOf(name);
  if (index < 0) {
    throw new UnprocessableError(`unknown class '${name}'`, `Known classes: ${schema.labels.join(', ')}.`);
  }
  return { label: index, className: name };
}

/**
 * Validates a labelled sample against the dataset schema. Values far outside the feature's range (beyond half the
 * range past either end) are accepted but flagged, since real drift starts with such samples.
 */
export function validateFeedback(
  schema: DatasetSchema,
  features: DatasetFeatureValues,
  label: string | number,
  ranges: ({ min: number; max: number } | null)[],
): ValidatedFeedback {
  // An image row's feature is the hash of pixels stored by an import: feedback cannot supply them.
  if (schema.image) {
    throw new UnprocessableError(
      'this is an image dataset: feedback rows (feature values) cannot be added to it',
      'Add labelled images by importing them (POST /datasets/:name/images/import).',
    );
  }
  const vector = featureVector(schema, features);
  const encoded = encodeLabel(schema, label);
  const flags: string[] = [];
  vector.forEach((value, i) => {
    const range = ranges[i];
    if (typeof value !== 'number' || !range || !Number.isFinite(range.min)) return;
    const margin = (range.max - range.min) / 2;
    if (value < range.min - margin || value > range.max + margin) {
      flags.push(
        `${schema.features[i]}=${value} is far outside the training range [${range.min}, ${range.max}]`,
      );
    }
  });
  return { features: vector, label: encoded.label, className: encoded.className, flags };
}
