/**
 * CSV text as records (RFC 4180: quoted cells may hold commas, doubled quotes and line breaks), fed chunk by chunk.
 * A record is kept as its raw text, so an output row can repeat its input row exactly.
 */
export class CsvRecords {
  private rest = '';
  /** The raw text of a record whose quoted cell spans lines, so far. */
  private open: string | null = null;

  /** The complete records in `text` (with what was left over from the previous chunk); blank lines are skipped. */
  push(text: string, into: string[]): void {
    const data = this.rest + text;
    let start = 0;
    for (let end = data.indexOf('\n', start); end !== -1; end = data.indexOf('\n', start)) {
      this.line(data.charCodeAt(end - 1) === 13 ? data.slice(start, end - 1) : data.slice(start, end), into);
      start = end + 1;
    }
    this.rest = data.slice(start);
  }

  /** The last record, when the text does not end with a line break. Throws on an unterminated quoted cell. */
  end(into: string[]): void {
    if (this.rest !== '') this.line(this.rest.endsWith('\r') ? this.rest.slice(0, -1) : this.rest, into);
    this.rest = '';
    if (this.open !== null) throw new Error('the CSV ends inside a quoted cell (a " is not closed)');
  }

  private line(line: string, into: string[]): void {
    if (this.open !== null) {
      this.open += `\n${line}`;
      if (quotesBalanced(this.open)) {
        into.push(this.open);
        this.open = null;
      }
      return;
    }
    if (line === '') return;
    if (line.indexOf('"') !== -1 && !quotesBalanced(line)) {
      this.open = line;
      return;
    }
    into.push(line);
  }
}

function quotesBalanced(text: string): boolean {
  let count = 0;
  for (let at = text.indexOf('"'); at !== -1; at = text.indexOf('"', at + 1)) count++;
  return count % 2 === 0;
}

/** The cells of one record. */
export function csvCells(record: string): string[] {
  if (record.indexOf('"') === -1) return record.split(',');
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < record.length; i++) {
    const c = record[i];
    if (quoted) {
      if (c === '"') {
        if (record[i + 1] === '"') {
          cell += '"';
          i++;
        } else quoted = false;
      } else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      cells.push(cell);
      cell = '';
    } else cell += c;
  }
  cells.push(cell);
  return cells;
}

/** A cell as CSV writes it: quoted when it holds a comma, a quote or a line break. */
export function csvCell(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}
