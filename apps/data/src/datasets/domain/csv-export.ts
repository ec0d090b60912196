/** A cell a spreadsheet would run as a formula: it starts with =, +, -, @, a tab or a carriage return (OWASP). */
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * A text cell of an exported CSV: a cell a spreadsheet would read as a formula gets a leading single quote (OWASP's
 * CSV injection rule), then the cell is quoted when it holds a quote, a comma or a line break. Numbers are written as
 * numbers (a negative number is data, not a formula).
 */
export function csvText(text: string): string {
  const safe = FORMULA_START.test(text) ? `'${text}` : text;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** A cell of an exported CSV: empty for a missing value, a number as it is, text through csvText. */
export function csvCell(value: string | number | null): string {
  return value === null ? '' : typeof value === 'number' ? String(value) : csvText(value);
}
