import { Readable } from 'node:stream';

/** A batch CSV over one of its limits (REGISTRY_BATCH_MAX_ROWS): 413 naming it, nothing stored. */
export class BatchLimitError extends Error {
  readonly statusCode = 413;
  constructor(message: string) {
    super(message);
    this.name = 'BatchLimitError';
  }
}

/**
 * Passes `content` through while counting its lines; throws BatchLimitError as soon as it holds more than `maxRows`
 * data rows (lines after the header). `counted()` gives the data rows once it has been read to the end.
 */
export function countingRows(
  content: Readable,
  maxRows: number,
): { stream: AsyncIterable<Buffer>; counted: () => number } {
  let newlines = 0;
  let last = 0x0a;
  async function* lines(): AsyncIterable<Buffer> {
    for await (const chunk of content as AsyncIterable<Buffer | string>) {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      for (let at = bytes.indexOf(0x0a); at !== -1; at = bytes.indexOf(0x0a, at + 1)) newlines++;
      if (bytes.length > 0) last = bytes[bytes.length - 1];
      if (newlines - 1 > maxRows) {
        throw new BatchLimitError(
          `the CSV has more than ${maxRows} rows (REGISTRY_BATCH_MAX_ROWS); nothing was stored`,
        );
      }
      yield bytes;
    }
  }
  const counted = () => Math.max(0, newlines + (last === 0x0a ? 0 : 1) - 1);
  return { stream: lines(), counted };
}
