import { DatasetFormatError } from './dataset-format-error';

/** One record of a delimited file: its cells (quotes removed, outer spaces trimmed) and its 1-based first line. */
export interface CsvRecord {
  line: number;
  cells: string[];
}

/** Limits of one record, so a file without line breaks or with a huge cell cannot exhaust memory. */
export const MAX_RECORD_CHARS = 1024 * 1024;

/**
 * An incremental RFC 4180 reader: text goes in chunk by chunk, complete records come out. Quoted cells may hold the
 * delimiter, doubled quotes and line breaks; blank lines are skipped. Only the unfinished record is kept between
 * chunks, so memory stays flat whatever the file's size.
 */
export class CsvRecordReader {
  private rest = '';
  private line = 1;

  constructor(readonly delimiter: string) {}

  /** Appends a chunk and returns every record it completes. */
  push(text: string): CsvRecord[] {
    this.rest = this.rest ? this.rest + text : text;
    return this.drain(false);
  }

  /** The last record, if the file does not end with a line break. */
  end(): CsvRecord[] {
    return this.drain(true);
  }

  private drain(final: boolean): CsvRecord[] {
    const out: CsvRecord[] = [];
    const text = this.rest;
    let pos = 0;
    while (pos < text.length) {
      const newline = text.indexOf('\n', pos);
      if (newline < 0 && !final) break;
      const lineEnd = newline < 0 ? text.length : newline;
      const quote = text.indexOf('"', pos);
      if (quote < 0 || quote > lineEnd) {
        const raw = text.slice(pos, lineEnd > pos && text[lineEnd - 1] === '\r' ? lineEnd - 1 : lineEnd);
        if (raw.trim() !== '') out.push({ line: this.line, cells: raw.split(this.delimiter).map(trim) });
        this.line += 1;
        pos = lineEnd + 1;
        continue;
      }
      const parsed = this.quoted(text, pos, final);
      if (!parsed) break;
      out.push({ line: this.line, cells: parsed.cells });
      this.line += parsed.lines;
      pos = parsed.next;
    }
    this.rest = text.slice(pos);
    if (this.rest.length > MAX_RECORD_CHARS) {
      throw new DatasetFormatError(
        this.line,
        `a record is longer than ${MAX_RECORD_CHARS} characters (an unclosed quote or no line breaks?)`,
      );
    }
    if (final && this.rest.length > 0) {
      throw new DatasetFormatError(this.line, 'a quoted cell is not closed before the end of the file');
    }
    return out;
  }

  /** Parses one record holding quotes from `start`; null when the chunk ends inside it. */
  private quoted(
    text: string,
    start: number,
    final: boolean,
  ): { cells: string[]; next: number; lines: number } | null {
    const cells: string[] = [];
    let cell = '';
    let quoted = false;
    let wasQuoted = false;
    let lines = 1;
    let i = start;
    const finish = () => {
      cells.push(wasQuoted ? cell : trim(cell));
      cell = '';
      wasQuoted = false;
    };
    while (i < text.length) {
      const c = text[i];
      if (quoted) {
        if (c === '"') {
          if (text[i + 1] === '"') {
            cell += '"';
            i += 2;
            continue;
          }
          if (i + 1 >= text.length && !final) return null;
          quoted = false;
        } else {
          if (c === '\n') lines += 1;
          cell += c;
        }
        i += 1;
        continue;
      }
      if (c === '"' && cell.trim() === '') {
        quoted = true;
        wasQuoted = true;
        cell = '';
      } else if (c === this.delimiter) {
        finish();
      } else if (c === '\n') {
        finish();
        return { cells, next: i + 1, lines };
      } else if (c !== '\r') {
        if (wasQuoted && c.trim() !== '') {
          throw new DatasetFormatError(
            this.line + lines - 1,
            `text after a closing quote in cell ${cells.length + 1}`,
          );
        }
        if (!wasQuoted) cell += c;
      }
      i += 1;
    }
    if (!final) return null;
    if (quoted) return null;
    finish();
    return { cells, next: i, lines };
  }
}

const trim = (s: string) => s.trim();
