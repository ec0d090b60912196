export type Matrix = readonly (readonly number[])[];

/**
 * Throws unless every row has `width` finite numbers (or, without `width`, the width of the first row).
 * Returns the width.
 */
export function assertFiniteMatrix(rows: Matrix, what: string, width?: number): number {
  const expectedWidth = width ?? rows[0]?.length ?? 0;
  rows.forEach((row, rowIndex) => {
    if (row.length !== expectedWidth) {
      throw new Error(`${what}: row ${rowIndex} has ${row.length} values, expected ${expectedWidth}`);
    }
    row.forEach((value, column) => {
      if (!Number.isFinite(value)) {
        throw new Error(`${what}: row ${rowIndex}, column ${column} is not a finite number (${value})`);
      }
    });
  });
  return expectedWidth;
}
