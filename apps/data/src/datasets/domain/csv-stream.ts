import { CsvRecord, CsvRecordReader } from './csv-records';
import { sniffDelimiter } from './csv-import';
import { DatasetFormatError } from './dataset-format-error';

/** A body over the configured limit; the HTTP layer answers 413 (it carries the status like Fastify's errors). */
export class BodyTooLargeError extends Error {
  readonly statusCode = 413;
  constructor(
    readonly limit: number,
    readonly setting: string,
  ) {
    super(
      `the CSV is larger than the limit of ${limit} bytes (${setting}); nothing was written. Split the file or raise ${setting}.`,
    );
  }
}

export interface OpenedCsv {
  delimiter: string;
  /** The first records (up to `sampleRecords`), for the plan: header, types, task. */
  sample: CsvRecord[];
  /** Every record after the sample, in batches. */
  rest: AsyncGenerator<CsvRecord[]>;
  /** Bytes read so far. */
  bytes(): number;
}

const SNIFF_CHARS = 64 * 1024;

/**
 * Reads a delimited file from a stream of bytes, chunk by chunk: checks it is UTF-8 text (not binary) and within
 * `maxBytes`, detects the delimiter from its start, and hands out records. Memory holds one chunk and one batch.
 */
export async function openCsv(
  source: AsyncIterable<Buffer | string>,
  options: { maxBytes: number; limitSetting: string; delimiter?: string; sampleRecords?: number },
): Promise<OpenedCsv> {
  const iterator = source[Symbol.asyncIterator]();
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let bytes = 0;
  let line = 1;
  let done = false;
  const next = async (): Promise<string | null> => {
    if (done) return null;
    const { value, done: finished } = await iterator.next();
    if (finished) {
      done = true;
      return decode(undefined);
    }
    const chunk: Buffer = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
    bytes += chunk.length;
    if (bytes > options.maxBytes) throw new BodyTooLargeError(options.maxBytes, options.limitSetting);
    return decode(chunk);
  };
  const decode = (chunk: Buffer | undefined): string => {
    let text: string;
    try {
      text = chunk ? decoder.decode(chunk, { stream: true }) : decoder.decode();
    } catch {
      throw new DatasetFormatError(
        line,
        'the file is not UTF-8 text (an invalid byte sequence); save it as UTF-8 CSV',
      );
    }
    if (text.includes('\u0000')) {
      throw new DatasetFormatError(line, 'the file is binary (it holds NUL bytes), not delimited text');
    }
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) line += 1;
    return text;
  };

  let head = '';
  while (head.length < SNIFF_CHARS) {
    const text = await next();
    if (text === null) break;
    head += text;
  }
  head = head.replace(/^\uFEFF/, '');
  if (head.trim() === '') throw new DatasetFormatError(null, 'the file is empty');
  const delimiter = options.delimiter ?? sniffDelimiter(head);
  const reader = new CsvRecordReader(delimiter);
  const wanted = options.sampleRecords ?? 1000;
  const buffered: CsvRecord[] = reader.push(head);
  while (buffered.length < wanted) {
    const text = await next();
    if (text === null) break;
    buffered.push(...reader.push(text));
  }
  if (done) buffered.push(...reader.end());
  const sample = buffered.splice(0, wanted);

  async function* rest(): AsyncGenerator<CsvRecord[]> {
    if (buffered.length) yield buffered.splice(0);
    for (;;) {
      const text = await next();
      if (text === null) break;
      const records = reader.push(text);
      if (records.length) yield records;
    }
    const last = reader.end();
    if (last.length) yield last;
  }
  return { delimiter, sample, rest: rest(), bytes: () => bytes };
}
