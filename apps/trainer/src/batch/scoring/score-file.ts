import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { StringDecoder } from 'node:string_decoder';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import type { BatchSignature } from './batch-signature';
import { csvCell, csvCells, CsvRecords } from './csv-lines';
import { plainNumber } from './plain-number';

/** What scoring uses of an onnxruntime session. */
export type ScoringSession = Pick<InferenceSession, 'run'>;

export interface ScoreFileOptions {
  inputPath: string;
  outputPath: string;
  model: { name: string; version: number };
  /** Rows per ONNX run (and per write). */
  chunkRows: number;
  /** Refuse more data rows than this (the job fails naming `maxRowsSetting`). */
  maxRows: number;
  maxRowsSetting: string;
  /** After each chunk: the data rows read so far. */
  onProgress?: (rows: number) => void;
  /** Checked after each chunk: true stops scoring with ScoringStopped (a cancelled job). */
  shouldStop?: () => boolean;
}

export interface ScoreFileResult {
  rows: number;
  errorRows: number;
  bytes: number;
  sha256: string;
}

/** Scoring stopped between two chunks because the job was cancelled (shouldStop). */
export class ScoringStopped extends Error {
  constructor(rows: number) {
    super(`scoring stopped after ${rows} rows: the job was cancelled`);
    this.name = 'ScoringStopped';
  }
}

/** The input cannot be scored at all (no column for a feature, too many rows): the job is rejected, not retried. */
export class BatchInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BatchInputError';
  }
}

const ZEROS = '000000';

/**
 * Probabilities as written: 6 fixed decimals (enough to rank, far shorter than a float32's 17 digits), formatted from
 * an integer, which is several times faster than formatting the double.
 */
function decimals(p: number): string {
  const micros = Math.round(p * 1e6);
  if (micros >= 1e6) return '1';
  if (micros <= 0) return '0';
  const digits = `${micros}`;
  return `0.${ZEROS.slice(digits.length)}${digits}`;
}

/**
 * Scores a CSV file with one model, chunk by chunk, into an output CSV: every input row, as it was, followed by the
 * prediction, one probability per class (classifiers), the model name and version, and `error`. A row that does not
 * match the model's signature (a cell count unlike the header's, a required feature missing, a numeric feature that is
 * not a number) gets no prediction and its error, never an imputed value. Memory is one chunk, whatever the file.
 */
export async function scoreCsvFile(
  session: ScoringSession,
  signature: BatchSignature,
  options: ScoreFileOptions,
): Promise<ScoreFileResult> {
  const { chunkRows } = options;
  const classification = signature.task === 'classification';
  const k = signature.labels.length;
  const output = createWriteStream(options.outputPath, { highWaterMark: 1 << 20 });
  const hash = createHash('sha256');
  let bytes = 0;
  const write = async (text: string) => {
    const buffer = Buffer.from(text, 'utf8');
    hash.update(buffer);
    bytes += buffer.length;
    if (!output.write(buffer)) await once(output, 'drain');
  };

  const records = new CsvRecords();
  const decoder = new StringDecoder('utf8');
  let header: string[] | null = null;
  let columnOf: Int32Array = new Int32Array(0);
  let headerWidth = 0;
  let rows = 0;
  let errorRows = 0;
  const suffix = `,${csvCell(options.model.name)},${options.model.version}`;
  const labelCells = signature.labels.map((label) => `,${csvCell(label)}`);
  const emptyPrediction = ','.repeat(classification ? k + 1 : 1);
  const numeric = new Float32Array(chunkRows * signature.numericCount);
  const categorical: string[] = [];
  const errors: (string | null)[] = new Array(chunkRows).fill(null);
  const valid = new Int32Array(chunkRows);

  const startHeader = async (record: string) => {
    header = csvCells(record).map((name) => name.trim());
    headerWidth = header.length;
    const missing = signature.featureNames.filter((name) => !header!.includes(name));
    if (missing.length > 0) {
      throw new BatchInputError(
        `the CSV has no column for the model's feature(s) ${missing.join(', ')} (its header: ${header.join(', ').slice(0, 500)}; the model's features: ${signature.featureNames.join(', ')})`,
      );
    }
    columnOf = Int32Array.from(signature.columns.map((c) => header!.indexOf(c.name)));
    const classes = classification
      ? signature.labels.map((l) => `,${csvCell(`probability_${l}`)}`).join('')
      : '';
    await write(`${record},prediction${classes},model_name,model_version,error\n`);
  };

  /** Fills one row's inputs at `slot` of the chunk; answers why it cannot be scored, or null. */
  const fill = (cells: string[], slot: number): string | null => {
    if (cells.length !== headerWidth) return `the row has ${cells.length} cells, the header ${headerWidth}`;
    const { columns, numericCount, categoricalCount } = signature;
    for (let f = 0; f < columns.length; f++) {
      const column = columns[f];
      const raw = cells[columnOf[f]];
      const cell =
        raw.length > 0 && (raw.charCodeAt(0) === 32 || raw.charCodeAt(raw.length - 1) === 32)
          ? raw.trim()
          : raw;
      if (column.type === 'numeric') {
        let value: number;
        if (cell === '') {
          if (!column.nullable) return `'${column.name}' is missing and the model requires it`;
          value = NaN;
        } else {
          value = Number(cell);
          if (!Number.isFinite(value)) return `'${column.name}' is not a number: '${cell.slice(0, 50)}'`;
        }
        numeric[slot * numericCount + column.slot] = value;
      } else {
        if (cell === '' && !column.nullable) return `'${column.name}' is missing and the model requires it`;
        categorical[slot * categoricalCount + column.slot] = cell;
      }
    }
    return null;
  };

  let starts = new Int32Array(0);
  let ends = new Int32Array(0);
  /** fill() for a record without quotes: its cells found by their commas, numbers read in place (no substrings). */
  const fillPlain = (line: string, slot: number): string | null => {
    if (starts.length !== headerWidth) {
      starts = new Int32Array(headerWidth);
      ends = new Int32Array(headerWidth);
    }
    let cells = 0;
    for (let from = 0; ; cells++) {
      const comma = line.indexOf(',', from);
      if (cells < headerWidth) {
        starts[cells] = from;
        ends[cells] = comma === -1 ? line.length : comma;
      }
      if (comma === -1) break;
      from = comma + 1;
    }
    cells++;
    if (cells !== headerWidth) return `the row has ${cells} cells, the header ${headerWidth}`;
    const { columns, numericCount } = signature;
    for (let f = 0; f < columns.length; f++) {
      const column = columns[f];
      if (column.type !== 'numeric') return fill(csvCells(line), slot);
      const value = plainNumber(line, starts[columnOf[f]], ends[columnOf[f]]);
      if (Number.isNaN(value)) return fill(csvCells(line), slot); // empty, spaced, exponent, not a number
      numeric[slot * numericCount + column.slot] = value;
    }
    return null;
  };

  const scoreChunk = async (chunk: string[]) => {
    let count = 0;
    for (let i = 0; i < chunk.length; i++) {
      const record = chunk[i];
      const error = record.indexOf('"') === -1 ? fillPlain(record, count) : fill(csvCells(record), count);
      errors[i] = error;
      if (error === null) valid[count++] = i;
    }
    let probabilities: Float32Array | null = null;
    let labels: BigInt64Array | null = null;
    let values: Float32Array | null = null;
    if (count > 0) {
      const feeds: Record<string, Tensor> = {};
      if (signature.numericCount > 0) {
        feeds.features = new Tensor('float32', numeric.subarray(0, count * signature.numericCount), [
          count,
          signature.numericCount,
        ]);
      }
      if (signature.categoricalCount > 0) {
        feeds.categorical = new Tensor('string', categorical.slice(0, count * signature.categoricalCount), [
          count,
          signature.categoricalCount,
        ]);
      }
      if (classification) {
        const result = await session.run(feeds, ['probabilities', 'label']);
        probabilities = result.probabilities.data as Float32Array;
        labels = result.label.data as BigInt64Array;
      } else {
        values = (await session.run(feeds, ['value'])).value.data as Float32Array;
      }
    }
    const lines: string[] = new Array(chunk.length);
    let next = 0;
    for (let i = 0; i < chunk.length; i++) {
      const error = errors[i];
      if (error !== null) {
        errorRows++;
        lines[i] = `${chunk[i]}${emptyPrediction}${suffix},${csvCell(error)}`;
        continue;
      }
      const r = next++;
      let line: string;
      if (classification) {
        line = chunk[i] + labelCells[Number(labels![r])];
        for (let c = 0; c < k; c++) line += `,${decimals(probabilities![r * k + c])}`;
      } else {
        line = `${chunk[i]},${values![r]}`;
      }
      lines[i] = `${line}${suffix},`;
    }
    await write(`${lines.join('\n')}\n`);
  };

  try {
    const pending: string[] = [];
    const drain = async (final: boolean) => {
      let start = 0;
      if (header === null && pending.length > 0) {
        await startHeader(pending[0]);
        start = 1;
      }
      while (pending.length - start >= chunkRows || (final && pending.length > start)) {
        const chunk = pending.slice(start, start + chunkRows);
        start += chunk.length;
        rows += chunk.length;
        if (rows > options.maxRows) {
          throw new BatchInputError(
            `the input has more than ${options.maxRows} rows (${options.maxRowsSetting})`,
          );
        }
        await scoreChunk(chunk);
        options.onProgress?.(rows);
        if (options.shouldStop?.()) throw new ScoringStopped(rows);
      }
      pending.splice(0, start);
    };
    for await (const chunk of createReadStream(options.inputPath, { highWaterMark: 1 << 20 })) {
      records.push(decoder.write(chunk as Buffer), pending);
      if (pending.length >= chunkRows + 1) await drain(false);
    }
    records.push(decoder.end(), pending);
    records.end(pending);
    await drain(true);
    if (header === null) throw new BatchInputError('the CSV is empty: it needs a header naming the features');
    output.end();
    await once(output, 'finish');
    return { rows, errorRows, bytes, sha256: hash.digest('hex') };
  } catch (error) {
    // The file is abandoned (the caller deletes it): a write still pending fails with ERR_STREAM_DESTROYED, which is
    // no news and must not surface as an unhandled 'error' event.
    output.on('error', () => undefined);
    output.destroy();
    throw error;
  }
}
