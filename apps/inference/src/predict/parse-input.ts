import { InvalidInputError, UnprocessableError } from '@sepal/contracts';
import { ModelSignature, SignatureColumn } from './model-signature';

/**
 * Rows to score, row-major in the model's feature order, ready to be an ONNX float32 [rows, F] tensor; for a model
 * with typed columns, `data` holds its numeric features ([rows, numeric], NaN where missing) and `categorical` its
 * categorical ones ([rows, categorical], '' where missing).
 */
export interface ParsedRows {
  rows: number;
  data: Float32Array;
  categorical?: string[];
}

/** The longest category string a request may send (characters). */
export const MAX_CATEGORY_LENGTH = 1000;

/** A request the gateway cannot score; the message names the field and the problem (HTTP 400). */
export class PredictInputError extends InvalidInputError {
  constructor(path: string, problem: string, hint?: string) {
    super(`${path || 'body'}: ${problem}`, hint, { path: path || '(root)', problem });
  }
}

/**
 * Features the model needs that a request left out (HTTP 422): a feature that had no missing value in training is
 * required (the imputation learned nothing for it). Names at most 10 of them, to keep the answer short.
 */
export class MissingFeaturesError extends UnprocessableError {
  constructor(path: string, missing: readonly string[], unknown: readonly string[] = []) {
    super(
      `${path || 'body'}: missing required feature(s) ${names(missing)}` +
        (unknown.length ? `; unknown feature(s) ${names(unknown)}` : ''),
      'The model was trained with no missing value in these features: send them (GET /model lists the features).',
      { path: path || '(root)', missing: missing.slice(0, 10), unknown: unknown.slice(0, 10) },
    );
  }
}

/** How a named row's fields the model does not know are treated (PREDICT_UNKNOWN_FEATURES): refused by default. */
export interface ParseOptions {
  ignoreUnknown?: boolean;
}

const names = (list: readonly string[]) =>
  list.length > 10 ? `${list.slice(0, 10).join(', ')} and ${list.length - 10} more` : list.join(', ');

/** Refuses a named row's missing or unknown features: 422 when one is missing, 400 for unknown ones only. */
function refuseFields(path: string, missing: readonly string[], unknown: readonly string[]): never {
  if (missing.length > 0) throw new MissingFeaturesError(path, missing, unknown);
  throw new PredictInputError(
    path,
    `unknown feature(s) ${names(unknown)}`,
    'Send only the features the model takes (GET /model lists them).',
  );
}

const BODY_HINT =
  'Send {"features": {...}} or {"features": [...]} for one row, {"instances": [...]} for many.';

export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string')
    return `a string ${JSON.stringify(value.length > 20 ? `${value.slice(0, 20)}…` : value)}`;
  return `a ${typeof value}`;
}

export function finiteProblem(value: unknown): string {
  return `must be a finite number (got ${describeValue(value)})`;
}

const FLOAT32_MAX = 3.4028234663852886e38;

/** Checks one value and stores it; inlined into the hot loops by V8. */
function store(value: unknown, out: Float32Array, at: number, path: () => string): void {
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw new PredictInputError(path(), finiteProblem(value));
  if (value > FLOAT32_MAX || value < -FLOAT32_MAX) {
    throw new PredictInputError(path(), `${value} is outside the float32 range the model takes`);
  }
  out[at] = value;
}

const isRow = (value: unknown): boolean => typeof value === 'object' && value !== null;

/** An array row holds one value per feature, in model order. */
function checkWidth(value: unknown[], path: string, signature: ModelSignature, width: number): void {
  if (value.length !== width) {
    throw new PredictInputError(
      path,
      `expected ${width} values in model order (${signature.featureList}), got ${value.length}`,
    );
  }
}

/** A row that is neither an object of named features nor an array (`array` says of what). */
const notARow = (value: unknown, path: string, array: string) =>
  new PredictInputError(
    path,
    `expected an object of named features or an array of ${array}, got ${describeValue(value)}`,
  );

/** Writes one row (named object or array in model order) at row `row` of `out` (and of `categorical`). */
export function writeRow(
  value: unknown,
  path: string,
  signature: ModelSignature,
  out: Float32Array,
  row: number,
  categorical?: string[],
  options: ParseOptions = {},
): void {
  if (signature.columns !== null) {
    writeTypedRow(value, path, signature, signature.columns, out, row, categorical ?? [], options);
    return;
  }
  const width = signature.featureNames.length;
  const base = row * width;
  if (Array.isArray(value)) {
    checkWidth(value, path, signature, width);
    for (let j = 0; j < width; j++) {
      store(value[j], out, base + j, () => `${path}[${j}] (${signature.featureNames[j]})`);
    }
    return;
  }
  if (!isRow(value)) throw notARow(value, path, `${width} numbers`);
  const record = value as Record<string, unknown>;
  let seen = 0;
  let unknown: string[] | undefined;
  for (const key in record) {
    const column = signature.featureIndex.get(key);
    if (column === undefined) {
      (unknown ??= []).push(key);
      continue;
    }
    seen++;
    store(record[key], out, base + column, () => (path ? `${path}.${key}` : key));
  }
  if ((unknown !== undefined && !options.ignoreUnknown) || seen !== width) {
    const missing = signature.featureNames.filter(
      (name) => !Object.prototype.hasOwnProperty.call(record, name),
    );
    refuseFields(path, missing, options.ignoreUnknown ? [] : (unknown ?? []));
  }
}

/** Parses a list of rows (the `instances` of a batch). */
export function parseRowList(
  list: readonly unknown[],
  path: string,
  signature: ModelSignature,
  maxRows: number,
  options: ParseOptions = {},
): ParsedRows {
  const rows = list.length;
  if (rows === 0) throw new PredictInputError(path, 'must contain at least one row');
  if (rows > maxRows) {
    throw new PredictInputError(
      path,
      `${rows} rows is more than the maximum of ${maxRows} per request (MAX_BATCH_ROWS)`,
      'Split the batch into several requests.',
    );
  }
  const data = new Float32Array(rows * signature.numericCount);
  const categorical =
    signature.categoricalCount > 0 ? new Array<string>(rows * signature.categoricalCount) : undefined;
  for (let i = 0; i < rows; i++) writeRow(list[i], `${path}[${i}]`, signature, data, i, categorical, options);
  return categorical ? { rows, data, categorical } : { rows, data };
}

/**
 * Parses the body of POST /predict: `{"features": row}`, `{"instances": [row, ...]}`, a bare named row
 * (`{"sepal_length": 5.1, ...}`), a bare array row (`[5.1, 3.5, 1.4, 0.2]`) or a bare list of rows. A row is an
 * object of named features or an array in the model's feature order. Throws PredictInputError naming the field.
 */
export function parsePredictBody(
  body: unknown,
  signature: ModelSignature,
  maxRows: number,
  options: ParseOptions = {},
): ParsedRows {
  if (Array.isArray(body)) {
    if (body.length > 0 && isRow(body[0])) return parseRowList(body, '', signature, maxRows, options);
    return single(body, '', signature, options);
  }
  if (!isRow(body)) {
    throw new PredictInputError('', `expected a JSON object, got ${describeValue(body)}`, BODY_HINT);
  }
  const record = body as Record<string, unknown>;
  const hasFeatures = Object.prototype.hasOwnProperty.call(record, 'features');
  const hasInstances = Object.prototype.hasOwnProperty.call(record, 'instances');
  if (hasFeatures || hasInstances) {
    if (hasFeatures && hasInstances) {
      throw new PredictInputError(
        '',
        "send either 'features' (one row) or 'instances' (a batch), not both",
        BODY_HINT,
      );
    }
    for (const key in record) {
      if (key !== 'features' && key !== 'instances') {
        throw new PredictInputError(
          key,
          `unknown field (expected only '${hasFeatures ? 'features' : 'instances'}')`,
        );
      }
    }
    if (hasFeatures) return single(record.features, 'features', signature, options);
    const instances = record.instances;
    if (!Array.isArray(instances)) {
      throw new PredictInputError('instances', `must be an array of rows, got ${describeValue(instances)}`);
    }
    return parseRowList(instances, 'instances', signature, maxRows, options);
  }
  let named = 0;
  for (const key in record) if (signature.featureIndex.has(key)) named++;
  if (named === 0) {
    throw new PredictInputError(
      '',
      `expected 'features' (one row), 'instances' (a batch) or the named features (${signature.featureList})`,
      BODY_HINT,
    );
  }
  return single(record, '', signature, options);
}

function single(row: unknown, path: string, signature: ModelSignature, options: ParseOptions): ParsedRows {
  const data = new Float32Array(signature.numericCount);
  const categorical =
    signature.categoricalCount > 0 ? new Array<string>(signature.categoricalCount) : undefined;
  writeRow(row, path, signature, data, 0, categorical, options);
  return categorical ? { rows: 1, data, categorical } : { rows: 1, data };
}

/**
 * A row of a model with typed columns: a numeric feature takes a number, or null when the model imputes it (NaN in
 * the tensor: the graph's Imputer replaces it with the training median); a categorical feature takes a string (or a
 * number, as its text), or null when it may be missing: a category the model never saw, and null, encode as all
 * zeros in the graph. In a named row, a feature the model can do without (nullable: it had missing values in
 * training) may be left out; leaving out (or sending null for) any other is a MissingFeaturesError (422).
 */
function writeTypedRow(
  value: unknown,
  path: string,
  signature: ModelSignature,
  columns: readonly SignatureColumn[],
  out: Float32Array,
  row: number,
  categorical: string[],
  options: ParseOptions,
): void {
  const numericBase = row * signature.numericCount;
  const categoricalBase = row * signature.categoricalCount;
  const put = (column: SignatureColumn, cell: unknown, at: () => string) => {
    if (column.type === 'categorical') {
      let text: string;
      if (cell === null && !column.nullable) throw new MissingFeaturesError(at(), [column.name]);
      if (cell === null) text = '';
      else if (typeof cell === 'string') text = cell;
      else if (typeof cell === 'number' && Number.isFinite(cell)) text = String(cell);
      else
        throw new PredictInputError(
          at(),
          `must be a category (a string) or null, got ${describeValue(cell)}`,
        );
      if (text.length > MAX_CATEGORY_LENGTH) {
        throw new PredictInputError(
          at(),
          `is longer than ${MAX_CATEGORY_LENGTH} characters (MAX_CATEGORY_LENGTH)`,
        );
      }
      categorical[categoricalBase + column.slot] = text;
      return;
    }
    if (cell === null) {
      if (!column.nullable) throw new MissingFeaturesError(at(), [column.name]);
      out[numericBase + column.slot] = Number.NaN;
      return;
    }
    store(cell, out, numericBase + column.slot, at);
  };
  const width = columns.length;
  if (Array.isArray(value)) {
    checkWidth(value, path, signature, width);
    for (let j = 0; j < width; j++) put(columns[j], value[j], () => `${path}[${j}] (${columns[j].name})`);
    return;
  }
  if (!isRow(value)) throw notARow(value, path, `${width} values`);
  const record = value as Record<string, unknown>;
  const unknown = options.ignoreUnknown
    ? []
    : Object.keys(record).filter((key) => !signature.featureIndex.has(key));
  const missing = columns.filter(
    (column) => !column.nullable && !Object.prototype.hasOwnProperty.call(record, column.name),
  );
  if (unknown.length > 0 || missing.length > 0) {
    refuseFields(
      path,
      missing.map((c) => c.name),
      unknown,
    );
  }
  for (const column of columns) {
    const cell = Object.prototype.hasOwnProperty.call(record, column.name) ? record[column.name] : null;
    put(column, cell, () => (path ? `${path}.${column.name}` : column.name));
  }
}
