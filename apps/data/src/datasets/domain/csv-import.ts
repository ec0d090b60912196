import type { DatasetSchema, DatasetTask, FeatureCell, FeatureColumn } from '@sepal/contracts';
import { featureColumnsOf } from '@sepal/contracts';
import { CleaningRule } from '../../catalog/dataset-definition';
import { CsvRecord, CsvRecordReader } from './csv-records';
import { DatasetFormatError } from './dataset-format-error';

/** What the caller said about the file; anything left out is inferred (first import) or taken from the schema. */
export interface ImportOptions {
  target?: string;
  task?: DatasetTask;
  features?: string[];
  categorical?: string[];
  delimiter?: string;
  header?: boolean;
  /** Column names of a file without a header (a built-in dataset's declaration). */
  columnNames?: string[];
  /** Class names in index order (a built-in dataset's declaration); other classes are refused. */
  classes?: string[];
  cleaningRules?: CleaningRule[];
  /** The dataset's stored schema: the file must fit it (unless a new schema is asked for). */
  existing?: DatasetSchema;
}

/** How the rows of one file are read: decided from its first records, then applied to every record. */
export interface ImportPlan {
  delimiter: string;
  header: boolean;
  columnNames: string[];
  featureIndex: number[];
  targetIndex: number;
  /** The schema without its labels (those are known once every row is read). */
  schema: DatasetSchema;
  classes?: string[];
}

/** Cells that mean "missing". */
export const MISSING = new Set(['', 'NA', '?']);
export const MAX_COLUMNS = 1000;
export const MAX_CELL_CHARS = 1000;
/** Most distinct integer targets for which an unspecified task is guessed to be classification. */
const MAX_GUESSED_CLASSES = 20;

const isNumber = (cell: string) => cell !== '' && Number.isFinite(Number(cell));
const DELIMITERS = [',', ';', '\t'];
const show = (d: string) => (d === '\t' ? 'tab' : `'${d}'`);

/** The delimiter that splits the first lines into the same number (> 1) of cells; the most cells wins. */
export function sniffDelimiter(text: string): string {
  let best = ',';
  let bestColumns = 1;
  for (const delimiter of DELIMITERS) {
    const reader = new CsvRecordReader(delimiter);
    let records: CsvRecord[];
    try {
      records = reader.push(text).slice(0, 20);
    } catch {
      continue;
    }
    if (records.length === 0) continue;
    const width = records[0].cells.length;
    if (width > bestColumns && records.every((r) => r.cells.length === width)) {
      best = delimiter;
      bestColumns = width;
    }
  }
  return best;
}

/** A first record is a header when none of its cells is a number and none occurs below it (in a text column). */
export function looksLikeHeader(records: CsvRecord[]): boolean {
  const [first, ...rest] = records;
  if (!first) return false;
  if (first.cells.some(isNumber) || first.cells.every((c) => c === '')) return false;
  if (rest.length === 0) return true;
  return first.cells.every((name, j) => {
    const below = rest.map((r) => r.cells[j]).filter((c) => c !== undefined);
    const mostlyNumbers = below.filter(isNumber).length * 2 >= below.length && below.length > 0;
    return mostlyNumbers || !below.includes(name);
  });
}

function columnByName(names: string[], name: string, line: number | null, role: string): number {
  const index = names.indexOf(name);
  if (index < 0) {
    throw new DatasetFormatError(
      line,
      `${role} column '${name}' is not in the file (columns: ${names.slice(0, 50).join(', ')})`,
    );
  }
  return index;
}

/**
 * Decides how to read a file from its first records: delimiter (given), header, column names, the feature and
 * target columns, each feature's type and the task. With a stored schema, the file must hold its columns and the
 * options must not contradict it; a difference names the column.
 */
export function planImport(delimiter: string, sample: CsvRecord[], options: ImportOptions): ImportPlan {
  if (sample.length === 0) throw new DatasetFormatError(null, 'the file is empty (no records)');
  const existing = options.existing;
  const header = options.header ?? (options.columnNames ? false : looksLikeHeader(sample));
  const width = sample[0].cells.length;
  if (width > MAX_COLUMNS) {
    throw new DatasetFormatError(sample[0].line, `${width} columns is over the limit of ${MAX_COLUMNS}`);
  }
  let columnNames: string[];
  if (header) {
    columnNames = sample[0].cells;
    const seen = new Set<string>();
    for (const name of columnNames) {
      if (name === '') throw new DatasetFormatError(sample[0].line, 'a column of the header has no name');
      if (seen.has(name)) throw new DatasetFormatError(sample[0].line, `duplicate column name '${name}'`);
      seen.add(name);
    }
  } else if (options.columnNames) {
    columnNames = options.columnNames;
  } else if (existing && existing.features.length + 1 === width) {
    columnNames = [...existing.features, existing.target];
  } else {
    columnNames = Array.from({ length: width }, (_, j) => `column${j + 1}`);
  }
  const headerLine = header ? sample[0].line : null;
  // Rows of another width are left to the row reader, which names their line.
  const data = (header ? sample.slice(1) : sample).filter((r) => r.cells.length === columnNames.length);
  if (existing) {
    for (const name of [...existing.features, existing.target]) {
      if (!columnNames.includes(name)) {
        throw new DatasetFormatError(
          headerLine,
          `column '${name}' of the dataset's schema is missing from the file (${NEW_SCHEMA_HINT})`,
        );
      }
    }
  }
  const target = options.target ?? existing?.target;
  if (!target) {
    throw new DatasetFormatError(
      null,
      `say which column is the target (target=...); the columns are ${columnNames.slice(0, 50).join(', ')}`,
    );
  }
  const targetIndex = columnByName(columnNames, target, headerLine, 'target');
  const features = options.features ?? existing?.features ?? columnNames.filter((name) => name !== target);
  if (features.length === 0) throw new DatasetFormatError(headerLine, 'there is no feature column');
  if (features.includes(target)) {
    throw new DatasetFormatError(headerLine, `column '${target}' cannot be both the target and a feature`);
  }
  if (new Set(features).size !== features.length) {
    throw new DatasetFormatError(headerLine, 'a feature column is named twice');
  }
  const featureIndex = features.map((name) => columnByName(columnNames, name, headerLine, 'feature'));

  for (const name of options.categorical ?? []) {
    if (!features.includes(name)) {
      throw new DatasetFormatError(headerLine, `categorical column '${name}' is not a feature`);
    }
  }
  const columns: FeatureColumn[] = features.map((name, i) => {
    const values = data.map((r) => r.cells[featureIndex[i]]).filter((c) => !MISSING.has(c));
    const categorical = options.categorical?.includes(name) || values.some((c) => !isNumber(c));
    return categorical ? { name, type: 'categorical', encoding: 'one-hot' } : { name, type: 'numeric' };
  });
  const targets = data.map((r) => r.cells[targetIndex]).filter((c) => !MISSING.has(c));
  const guessedTask: DatasetTask =
    targets.some((c) => !isNumber(c)) ||
    (targets.every((c) => Number.isInteger(Number(c))) && new Set(targets).size <= MAX_GUESSED_CLASSES)
      ? 'classification'
      : 'regression';
  const task = options.task ?? existing?.task ?? (options.classes ? 'classification' : guessedTask);
  const schema: DatasetSchema = { features, target, task, labels: [], columns };
  if (existing) {
    checkFits(existing, schema, columns, headerLine, options.categorical !== undefined);
    schema.columns = existing.columns;
    if (!existing.columns) delete schema.columns;
  }
  return {
    delimiter,
    header,
    columnNames,
    featureIndex,
    targetIndex,
    schema,
    classes: options.classes,
  };
}

const NEW_SCHEMA_HINT = 'or import with newSchema=true (CLI: --new-schema) to replace the schema';

/** Refuses a file or options that do not fit the stored schema, naming the first column that differs. */
function checkFits(
  existing: DatasetSchema,
  schema: DatasetSchema,
  inferred: FeatureColumn[],
  line: number | null,
  categoricalGiven: boolean,
): void {
  if (schema.target !== existing.target) {
    throw new DatasetFormatError(
      line,
      `column '${schema.target}' is not the dataset's target '${existing.target}' (${NEW_SCHEMA_HINT})`,
    );
  }
  if (schema.task !== existing.task) {
    throw new DatasetFormatError(
      line,
      `column '${schema.target}': the task is ${existing.task} in the dataset's schema, not ${schema.task} (${NEW_SCHEMA_HINT})`,
    );
  }
  const missing = existing.features.find((name) => !schema.features.includes(name));
  if (missing) {
    throw new DatasetFormatError(
      line,
      `column '${missing}' of the dataset's schema is missing (${NEW_SCHEMA_HINT})`,
    );
  }
  const extra = schema.features.find((name) => !existing.features.includes(name));
  if (extra || schema.features.join('\u0000') !== existing.features.join('\u0000')) {
    throw new DatasetFormatError(
      line,
      `column '${extra ?? schema.features[0]}': the features differ from the dataset's schema (${existing.features.join(', ')}) (${NEW_SCHEMA_HINT})`,
    );
  }
  if (categoricalGiven) {
    const stored = featureColumnsOf(existing);
    const changed = inferred.find((c, i) => c.type !== stored[i].type);
    if (changed) {
      throw new DatasetFormatError(
        line,
        `column '${changed.name}' is ${featureColumnsOf(existing).find((c) => c.name === changed.name)?.type} in the dataset's schema, not ${changed.type} (${NEW_SCHEMA_HINT})`,
      );
    }
  }
}

/** A data row as stored: features typed by the schema, the class name or target value, and where it came from. */
export interface ImportedRow {
  line: number;
  features: FeatureCell[];
  label: string | number;
}

/**
 * Turns every data record into a typed row, checking it against the plan; throws naming the line, the column and
 * the problem. Documented corrections (cleaning rules) apply by data row number where the row still holds the
 * documented wrong values.
 */
export class RowConverter {
  private dataRow = 0;
  readonly applied: {
    id: string;
    row: number;
    changes: { feature: string; from: number; to: number }[];
    reference: string;
  }[] = [];
  /** Min and max of every numeric feature over the rows read. */
  readonly ranges: { min: number; max: number }[];
  readonly classes = new Set<string>();
  private readonly types: ('numeric' | 'categorical')[];

  constructor(
    private readonly plan: ImportPlan,
    private readonly cleaning: CleaningRule[] = [],
    private readonly maxClasses = 1000,
  ) {
    this.types = featureColumnsOf(plan.schema).map((c) => c.type);
    this.ranges = plan.schema.features.map(() => ({ min: Infinity, max: -Infinity }));
  }

  /** Whether this record is the header (skipped). */
  isHeader(record: CsvRecord, first: boolean): boolean {
    return first && this.plan.header;
  }

  convert(record: CsvRecord): ImportedRow {
    const { plan } = this;
    const cells = record.cells;
    this.dataRow += 1;
    if (cells.length !== plan.columnNames.length) {
      throw new DatasetFormatError(
        record.line,
        `expected ${plan.columnNames.length} columns separated by ${show(plan.delimiter)}, found ${cells.length}`,
      );
    }
    const features: FeatureCell[] = new Array(plan.featureIndex.length);
    for (let i = 0; i < plan.featureIndex.length; i++) {
      const cell = cells[plan.featureIndex[i]];
      const name = plan.schema.features[i];
      if (cell.length > MAX_CELL_CHARS) {
        throw new DatasetFormatError(
          record.line,
          `column '${name}': a cell of ${cell.length} characters is over the limit of ${MAX_CELL_CHARS}`,
        );
      }
      if (MISSING.has(cell)) {
        features[i] = null;
      } else if (this.types[i] === 'numeric') {
        const value = Number(cell);
        if (!Number.isFinite(value)) {
          throw new DatasetFormatError(
            record.line,
            `column '${name}': '${cell.slice(0, 80)}' is not a number (the column is numeric; give it as categorical=${name} if it holds categories)`,
          );
        }
        features[i] = value;
      } else {
        features[i] = cell;
      }
    }
    for (const rule of this.cleaning) if (rule.row === this.dataRow) this.clean(rule, features);
    for (let i = 0; i < features.length; i++) {
      const value = features[i];
      if (typeof value === 'number') {
        const range = this.ranges[i];
        if (value < range.min) range.min = value;
        if (value > range.max) range.max = value;
      }
    }
    const targetCell = cells[plan.targetIndex];
    if (MISSING.has(targetCell)) {
      throw new DatasetFormatError(
        record.line,
        `column '${plan.schema.target}' (the target) is empty; every row needs its ${plan.schema.task === 'regression' ? 'value' : 'class'}`,
      );
    }
    if (plan.schema.task === 'regression') {
      const value = Number(targetCell);
      if (!Number.isFinite(value)) {
        throw new DatasetFormatError(
          record.line,
          `column '${plan.schema.target}': '${targetCell.slice(0, 80)}' is not a number, and a regression target must be one`,
        );
      }
      return { line: record.line, features, label: value };
    }
    if (targetCell.length > MAX_CELL_CHARS) {
      throw new DatasetFormatError(record.line, `column '${plan.schema.target}': the class name is too long`);
    }
    if (plan.classes && !plan.classes.includes(targetCell)) {
      throw new DatasetFormatError(
        record.line,
        `unknown class '${targetCell}' in column '${plan.schema.target}' (known: ${plan.classes.join(', ')})`,
      );
    }
    if (!this.classes.has(targetCell)) {
      if (this.classes.size >= this.maxClasses) {
        throw new DatasetFormatError(
          record.line,
          `column '${plan.schema.target}' has more than ${this.maxClasses} classes; is it a regression target (task=regression)?`,
        );
      }
      this.classes.add(targetCell);
    }
    return { line: record.line, features, label: targetCell };
  }

  private clean(rule: CleaningRule, features: FeatureCell[]): void {
    const index = (feature: string) => this.plan.schema.features.indexOf(feature);
    const matches = Object.entries(rule.expect).every(([f, v]) => features[index(f)] === v);
    if (!matches) return;
    const changes = Object.entries(rule.set).map(([feature, to]) => {
      const i = index(feature);
      const from = features[i] as number;
      features[i] = to;
      return { feature, from, to };
    });
    this.applied.push({ id: rule.id, row: rule.row, changes, reference: rule.reference });
  }
}

/**
 * The label map: declared classes keep their order; otherwise the stored labels keep their indices and new classes
 * follow, sorted (numbers numerically).
 */
export function labelMap(
  declared: string[] | undefined,
  stored: string[],
  found: Iterable<string>,
): string[] {
  if (declared) return [...declared];
  const known = new Set(stored);
  const fresh = [...found].filter((c) => !known.has(c));
  fresh.sort((a, b) => {
    const [x, y] = [Number(a), Number(b)];
    return Number.isFinite(x) && Number.isFinite(y) ? x - y : a < b ? -1 : a > b ? 1 : 0;
  });
  return [...stored, ...fresh];
}
