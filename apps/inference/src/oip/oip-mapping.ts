import type { OipInferResponse, OipModelMetadata, OipTensor } from '@sepal/contracts';
import type { ModelInfo, RunOutput } from '../model/loaded-model';
import { ModelSignature } from '../predict/model-signature';
import { describeValue, finiteProblem, ParsedRows, PredictInputError } from '../predict/parse-input';

export const OIP_INPUT = 'features';
export const OIP_OUTPUTS = ['probabilities', 'label', 'class_name'] as const;
type OutputName = (typeof OIP_OUTPUTS)[number];

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
  const width = signature.featureNames.length;
  const classes = signature.labels.length;
  return {
    name: info.name,
    versions: [String(info.version)],
    platform: 'onnxruntime_onnx',
    inputs: [{ name: OIP_INPUT, datatype: 'FP32', shape: [-1, width] }],
    outputs: [
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
    },
  };
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Flattens row-major data (flat or nested arrays) into `out`; returns the count written. */
function flatten(value: unknown[], out: Float32Array, at: number, path: string): number {
  let written = 0;
  for (let i = 0; i < value.length; i++) {
    const item = value[i];
    if (Array.isArray(item)) {
      written += flatten(item, out, at + written, `${path}[${i}]`);
      continue;
    }
    if (at + written >= out.length) return out.length + 1;
    if (typeof item !== 'number' || !Number.isFinite(item)) {
      throw new PredictInputError(`${path}[${i}]`, finiteProblem(item));
    }
    out[at + written] = item;
    written++;
  }
  return written;
}

/** Parses a v2 infer request into rows for the model; errors name the field (`inputs[0].shape`, ...). */
export function parseInferRequest(
  body: unknown,
  signature: ModelSignature,
  maxRows: number,
): ParsedInferRequest {
  if (!isObject(body)) throw new PredictInputError('', `expected a JSON object, got ${describeValue(body)}`);
  const { id, inputs, outputs } = body;
  if (id !== undefined && typeof id !== 'string') throw new PredictInputError('id', 'must be a string');
  if (!Array.isArray(inputs) || inputs.length !== 1) {
    throw new PredictInputError('inputs', `must be an array with exactly one tensor named '${OIP_INPUT}'`);
  }
  const input: unknown = inputs[0];
  if (!isObject(input))
    throw new PredictInputError('inputs[0]', `expected a tensor object, got ${describeValue(input)}`);
  if (input.name !== OIP_INPUT) {
    throw new PredictInputError(
      'inputs[0].name',
      `unknown input ${JSON.stringify(input.name)}; the model takes '${OIP_INPUT}'`,
    );
  }
  if (typeof input.datatype !== 'string' || !NUMERIC_DATATYPES.has(input.datatype)) {
    throw new PredictInputError(
      'inputs[0].datatype',
      `must be FP32 (or another numeric type), got ${describeValue(input.datatype)}`,
    );
  }
  const width = signature.featureNames.length;
  const shape = input.shape;
  const validShape =
    Array.isArray(shape) &&
    shape.every((d) => Number.isInteger(d) && d >= 0) &&
    ((shape.length === 2 && shape[1] === width) || (shape.length === 1 && shape[0] === width));
  if (!validShape) {
    throw new PredictInputError(
      'inputs[0].shape',
      `expected [N, ${width}] (${signature.featureList}), got ${JSON.stringify(shape)}`,
    );
  }
  const rows = shape.length === 2 ? (shape[0] as number) : 1;
  if (rows === 0) throw new PredictInputError('inputs[0].shape', 'must have at least one row');
  if (rows > maxRows) {
    throw new PredictInputError(
      'inputs[0].shape',
      `${rows} rows is more than the maximum of ${maxRows} per request (MAX_BATCH_ROWS)`,
    );
  }
  if (!Array.isArray(input.data)) throw new PredictInputError('inputs[0].data', 'must be an array');
  const data = new Float32Array(rows * width);
  const written = flatten(input.data, data, 0, 'inputs[0].data');
  if (written !== data.length) {
    throw new PredictInputError(
      'inputs[0].data',
      `shape ${JSON.stringify(shape)} needs ${data.length} values, got ${written > data.length ? 'more' : written}`,
    );
  }
  return { id, rows, data, outputs: parseOutputs(outputs) };
}

function parseOutputs(outputs: unknown): readonly OutputName[] {
  if (outputs === undefined) return OIP_OUTPUTS;
  if (!Array.isArray(outputs)) throw new PredictInputError('outputs', 'must be an array of {"name": ...}');
  return outputs.map((output: unknown, i) => {
    const name = isObject(output) ? output.name : undefined;
    if (typeof name !== 'string' || !(OIP_OUTPUTS as readonly string[]).includes(name)) {
      throw new PredictInputError(`outputs[${i}].name`, `must be one of ${OIP_OUTPUTS.join(', ')}`);
    }
    return name as OutputName;
  });
}

/** The v2 infer response: the requested output tensors, flat and row-major. */
export function inferResponse(
  info: ModelInfo,
  signature: ModelSignature,
  request: ParsedInferRequest,
  output: RunOutput,
): OipInferResponse {
  const classes = signature.labels.length;
  const tensors: OipTensor[] = request.outputs.map((name) => {
    switch (name) {
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
    ...(request.id !== undefined ? { id: request.id } : {}),
    parameters: { sha256: info.sha256 },
    outputs: tensors,
  };
}
