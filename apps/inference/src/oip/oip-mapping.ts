import type { OipInferResponse, OipModelMetadata, OipTensor } from '@sepal/contracts';
import type { ModelInfo, RunOutput } from '../model/loading/loaded-model';
import { imageInputTensor, parseImageTensor } from './oip-images';
import { ModelSignature, SignatureColumn } from '../predict/model-signature';
import {
  describeValue,
  finiteProblem,
  MAX_CATEGORY_LENGTH,
  MissingFeaturesError,
  ParsedRows,
  PredictInputError,
} from '../predict/parse-input';

export const OIP_INPUT = 'features';
/** A model with categorical columns takes their raw strings in this BYTES tensor, [N, categorical]. */
export const OIP_CATEGORICAL_INPUT = 'categorical';
export const OIP_OUTPUTS = ['probabilities', 'label', 'class_name'] as const;
/** A regressor's one output: the value of each row, FP32 [N, 1]. */
export const OIP_REGRESSION_OUTPUTS = ['value'] as const;
type OutputName = (typeof OIP_OUTPUTS)[number] | (typeof OIP_REGRESSION_OUTPUTS)[number];

const NUMERIC_DATATYPES = new Set([
  'FP16',
  'FP32',
  'FP64',
  'INT8',
  'INT16',
  'INT32',
  'INT64',
  'UINT8',
  'UINT16',
  'UINT32',
  'UINT64',
]);

export interface ParsedInferRequest extends ParsedRows {
  id?: string;
  outputs: readonly OutputName[];
}

/** GET /v2/models/{name}: the tensors a client sends and gets back. */
export function modelMetadata(info: ModelInfo, signature: ModelSignature): OipModelMetadata {
  const classes = signature.labels.length;
  return {
    name: info.name,
    versions: [String(info.version)],
    platform: 'onnxruntime_onnx',
    inputs: signature.image
      ? [imageInputTensor(signature.image)]
      : [
          ...(signature.numericCount > 0
            ? [{ name: OIP_INPUT, datatype: 'FP32', shape: [-1, signature.numericCount] }]
            : []),
          ...(signature.categoricalCount > 0
            ? [{ name: OIP_CATEGORICAL_INPUT, datatype: 'BYTES', shape: [-1, signature.categoricalCount] }]
            : []),
        ],
    outputs:
      signature.task === 'regression'
        ? [{ name: 'value', datatype: 'FP32', shape: [-1, 1] }]
        : [
            { name: 'probabilities', datatype: 'FP32', shape: [-1, classes] },
            { name: 'label', datatype: 'INT64', shape: [-1] },
            { name: 'class_name', datatype: 'BYTES', shape: [-1] },
          ],
    parameters: {
      sha256: info.sha256,
      run_id: info.runId,
      dataset_version: info.datasetVersion,
      feature_names: signature.featureNames,
      labels: signature.labels,
      task: signature.task,
      ...(signature.image
        ? {
            input_kind: 'image',
            image_shape: [signature.image.height, signature.image.width, signature.image.channels],
          }
        : {}),
      ...(signature.columns
        ? {
            feature_columns: signature.columns.map(({ name, type, nullable, categories }) => ({
              name,
              type,
              nullable,
              ...(categories ? { categories } : {}),
            })),
          }
        : {}),
    },
  };
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Flattens row-major data (flat or nested arrays) into `out`; returns the count written. `nullable[column]` allows
 * null in that column (NaN: the graph imputes it); a null elsewhere is a missing required feature, `names[column]`.
 */
function flatten(
  value: unknown[],
  out: Float32Array,
  at: number,
  path: string,
  nullable?: readonly boolean[],
  names?: readonly string[],
): number {
  let written = 0;
  for (let i = 0; i < value.length; i++) {
    const item = value[i];
    if (Array.isArray(item)) {
      written += flatten(item, out, at + written, `${path}[${i}]`, nullable, names);
      continue;
    }
    if (at + written >= out.length) return out.length + 1;
    if (item === null && nullable?.[(at + written) % nullable.length]) {
      out[at + written] = Number.NaN;
      written++;
      continue;
    }
    if (item === null && names)
      throw new MissingFeaturesError(`${path}[${i}]`, [names[(at + written) % names.length]]);
    if (typeof item !== 'number' || !Number.isFinite(item)) {
      throw new PredictInputError(`${path}[${i}]`, finiteProblem(item));
    }
    out[at + written] = item;
    written++;
  }
  return written;
}

/** Flattens a BYTES tensor's strings (null: missing, '', where the column allows it); returns the count written. */
function flattenStrings(
  value: unknown[],
  out: string[],
  at: number,
  path: string,
  limit: number,
  columns: readonly SignatureColumn[],
): number {
  let written = 0;
  for (let i = 0; i < value.length; i++) {
    const item = value[i];
    if (Array.isArray(item)) {
      written += flattenStrings(item, out, at + written, `${path}[${i}]`, limit, columns);
      continue;
    }
    if (at + written >= limit) return limit + 1;
    const column = columns.length > 0 ? columns[(at + written) % columns.length] : undefined;
    if (item === null && column && !column.nullable) {
      throw new MissingFeaturesError(`${path}[${i}]`, [column.name]);
    }
    if (item !== null && typeof item !== 'string') {
      throw new PredictInputError(
        `${path}[${i}]`,
        `must be a category (a string) or null, got ${describeValue(item)}`,
      );
    }
    if (item !== null && item.length > MAX_CATEGORY_LENGTH) {
      throw new PredictInputError(
        `${path}[${i}]`,
        `is longer than ${MAX_CATEGORY_LENGTH} characters (MAX_CATEGORY_LENGTH)`,
      );
    }
    out[at + written] = item ?? '';
    written++;
  }
  return written;
}

/**
 * Parses a v2 infer request into rows for the model; errors name the field (`inputs[0].shape`, ...). A model with
 * categorical columns takes a second tensor, `categorical` (BYTES [N, categorical], null for a missing value), and
 * numeric nulls where it imputes them. An image model takes one tensor, `features` [N, H, W, C] (see oip-images).
 */
export function parseInferRequest(
  body: unknown,
  signature: ModelSignature,
  maxRows: number,
  /** An image model's IMAGE_MAX_PER_REQUEST (maxRows when omitted). */
  maxImages?: number,
): ParsedInferRequest {
  if (!isObject(body)) throw new PredictInputError('', `expected a JSON object, got ${describeValue(body)}`);
  const { id, inputs, outputs } = body;
  if (id !== undefined && typeof id !== 'string') throw new PredictInputError('id', 'must be a string');
  if (signature.image) {
    const images = parseImageTensor(inputs, signature.image, maxImages ?? maxRows);
    return { id, ...images, outputs: parseOutputs(outputs, signature) };
  }
  const expected = [
    ...(signature.numericCount > 0 ? [OIP_INPUT] : []),
    ...(signature.categoricalCount > 0 ? [OIP_CATEGORICAL_INPUT] : []),
  ];
  const names = expected.map((name) => `'${name}'`).join(' and ');
  if (!Array.isArray(inputs) || inputs.length !== expected.length) {
    throw new PredictInputError(
      'inputs',
      `must be an array with exactly ${expected.length === 1 ? 'one tensor' : `${expected.length} tensors`} named ${names}`,
    );
  }
  let rows: number | undefined;
  let data = new Float32Array(0);
  let categorical: string[] | undefined;
  inputs.forEach((input: unknown, k) => {
    const at = `inputs[${k}]`;
    if (!isObject(input))
      throw new PredictInputError(at, `expected a tensor object, got ${describeValue(input)}`);
    if (typeof input.name !== 'string' || !expected.includes(input.name)) {
      throw new PredictInputError(
        `${at}.name`,
        `unknown input ${JSON.stringify(input.name)}; the model takes ${names}`,
      );
    }
    const isCategorical = input.name === OIP_CATEGORICAL_INPUT;
    if (
      isCategorical
        ? input.datatype !== 'BYTES'
        : typeof input.datatype !== 'string' || !NUMERIC_DATATYPES.has(input.datatype)
    ) {
      throw new PredictInputError(
        `${at}.datatype`,
        `must be ${isCategorical ? 'BYTES' : 'FP32 (or another numeric type)'}, got ${describeValue(input.datatype)}`,
      );
    }
    const width = isCategorical ? signature.categoricalCount : signature.numericCount;
    const shape = input.shape;
    const validShape =
      Array.isArray(shape) &&
      shape.every((d) => Number.isInteger(d) && d >= 0) &&
      ((shape.length === 2 && shape[1] === width) || (shape.length === 1 && shape[0] === width));
    if (!validShape) {
      const columns = signature.columns
        ? signature.columns
            .filter((c) => (c.type === 'categorical') === isCategorical)
            .map((c) => c.name)
            .join(', ')
        : signature.featureList;
      throw new PredictInputError(
        `${at}.shape`,
        `expected [N, ${width}] (${columns}), got ${JSON.stringify(shape)}`,
      );
    }
    const count = shape.length === 2 ? (shape[0] as number) : 1;
    if (count === 0) throw new PredictInputError(`${at}.shape`, 'must have at least one row');
    if (count > maxRows) {
      throw new PredictInputError(
        `${at}.shape`,
        `${count} rows is more than the maximum of ${maxRows} per request (MAX_BATCH_ROWS)`,
      );
    }
    if (rows !== undefined && count !== rows) {
      throw new PredictInputError(`${at}.shape`, `has ${count} rows, the other input ${rows}`);
    }
    rows = count;
    if (!Array.isArray(input.data)) throw new PredictInputError(`${at}.data`, 'must be an array');
    const size = count * width;
    let written: number;
    if (isCategorical) {
      categorical = new Array<string>(size);
      const columns = signature.columns?.filter((c) => c.type === 'categorical') ?? [];
      written = flattenStrings(input.data, categorical, 0, `${at}.data`, size, columns);
    } else {
      data = new Float32Array(size);
      const numeric = signature.columns?.filter((c) => c.type === 'numeric');
      const nullable = numeric?.map((c) => c.nullable);
      const names = numeric?.map((c) => c.name) ?? signature.featureNames;
      written = flatten(input.data, data, 0, `${at}.data`, nullable, names);
    }
    if (written !== size) {
      throw new PredictInputError(
        `${at}.data`,
        `shape ${JSON.stringify(shape)} needs ${size} values, got ${written > size ? 'more' : written}`,
      );
    }
  });
  return {
    id,
    rows: rows as number,
    data,
    ...(categorical ? { categorical } : {}),
    outputs: parseOutputs(outputs, signature),
  };
}

function parseOutputs(outputs: unknown, signature: ModelSignature): readonly OutputName[] {
  const known: readonly OutputName[] = signature.task === 'regression' ? OIP_REGRESSION_OUTPUTS : OIP_OUTPUTS;
  if (outputs === undefined) return known;
  if (!Array.isArray(outputs)) throw new PredictInputError('outputs', 'must be an array of {"name": ...}');
  return outputs.map((output: unknown, i) => {
    const name = isObject(output) ? output.name : undefined;
    if (typeof name !== 'string' || !(known as readonly string[]).includes(name)) {
      throw new PredictInputError(`outputs[${i}].name`, `must be one of ${known.join(', ')}`);
    }
    return name as OutputName;
  });
}

/** The v2 infer response: the requested output tensors, flat and row-major. */
/**
 * The v2 answer. Each row's prediction id is in `parameters.prediction_ids` (row order); `id` echoes the request's id,
 * or is the first row's prediction id when the request has none.
 */
export function inferResponse(
  info: ModelInfo,
  signature: ModelSignature,
  request: ParsedInferRequest,
  output: RunOutput,
  predictionIds: readonly string[],
): OipInferResponse {
  const classes = signature.labels.length;
  const tensors: OipTensor[] = request.outputs.map((name) => {
    switch (name) {
      case 'value':
        return {
          name,
          datatype: 'FP32',
          shape: [request.rows, 1],
          data: Array.from(output.values ?? new Float32Array(0)),
        };
      case 'probabilities':
        return {
          name,
          datatype: 'FP32',
          shape: [request.rows, classes],
          data: Array.from(output.probabilities),
        };
      case 'label':
        return { name, datatype: 'INT64', shape: [request.rows], data: Array.from(output.labels) };
      case 'class_name':
        return {
          name,
          datatype: 'BYTES',
          shape: [request.rows],
          data: Array.from(output.labels, (index) => signature.labels[index]),
        };
    }
  });
  return {
    model_name: info.name,
    model_version: String(info.version),
    id: request.id ?? predictionIds[0],
    parameters: { sha256: info.sha256, prediction_ids: predictionIds },
    outputs: tensors,
  };
}
