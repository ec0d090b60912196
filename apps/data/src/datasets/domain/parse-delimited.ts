import { DatasetDefinition } from '../../catalog/dataset-definition';
import { DatasetFormatError } from './dataset-format-error';

export interface RawRow {
  /** 1-based line number in the file. */
  line: number;
  /** 1-based data row number (header excluded), the numbering the UCI errata use. */
  row: number;
  features: number[];
  className: string;
}

const unquote = (cell: string) => cell.trim().replace(/^"(.*)"$/, '$1');

/** Parses a raw delimited file against its definition; any deviation throws naming the line and the problem. */
export function parseDelimited(text: string, definition: DatasetDefinition): RawRow[] {
  if (text.includes('\u0000')) throw new DatasetFormatError(null, 'the file is binary, not delimited text');
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const columns = [...definition.features, definition.target];
  const rows: RawRow[] = [];
  let index = 0;
  if (definition.format.header) {
    while (index < lines.length && lines[index].trim() === '') index += 1;
    if (index === lines.length) throw new DatasetFormatError(null, 'the file is empty');
    const header = lines[index].split(definition.format.delimiter).map(unquote);
    if (header.length !== columns.length || header.some((name, i) => name !== columns[i])) {
      throw new DatasetFormatError(
        index + 1,
        `header must be ${columns.map((c) => `"${c}"`).join(definition.format.delimiter)}, found ${lines[index].slice(0, 120)}`,
      );
    }
    index += 1;
  }
  for (; index < lines.length; index += 1) {
    const line = index + 1;
    const text = lines[index];
    if (text.trim() === '') {
      const rest = lines.slice(index + 1).some((l) => l.trim() !== '');
      if (rest) throw new DatasetFormatError(line, 'blank line between data rows');
      continue;
    }
    const cells = text.split(definition.format.delimiter).map(unquote);
    if (cells.length !== columns.length) {
      throw new DatasetFormatError(
        line,
        `expected ${columns.length} columns separated by '${definition.format.delimiter}', found ${cells.length}`,
      );
    }
    const features = definition.features.map((name, i) => {
      const cell = cells[i];
      const value = cell === '' ? Number.NaN : Number(cell);
      if (!Number.isFinite(value)) {
        throw new DatasetFormatError(line, `column '${name}': '${cell}' is not a finite number`);
      }
      return value;
    });
    const className = cells[columns.length - 1];
    if (className === '') throw new DatasetFormatError(line, `column '${definition.target}' is empty`);
    if (definition.classes && !definition.classes.includes(className)) {
      throw new DatasetFormatError(
        line,
        `unknown class '${className}' in column '${definition.target}' (known: ${definition.classes.join(', ')})`,
      );
    }
    rows.push({ line, row: rows.length + 1, features, className });
  }
  if (rows.length === 0) throw new DatasetFormatError(null, 'the file is empty (no data rows)');
  return rows;
}
