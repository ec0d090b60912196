import type { ValidationResult } from '../util/result';

export type RawGrid = Record<string, (number | string)[]>;

const NUMBER_PATTERN = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/**
 * Parses the CLI syntax `learningRate=0.001,0.01;hiddenUnits=8,16` into a grid object. Numeric tokens become
 * numbers, anything else stays a string; names and values are checked later by validateGrid.
 */
export function parseGridArg(text: string): ValidationResult<RawGrid> {
  // A Map, so that a name like __proto__ cannot reach the prototype of the object returned.
  const grid = new Map<string, (number | string)[]>();
  const errors: string[] = [];
  const assignments = text
    .split(';')
    .map((part) => part.trim())
    .filter((part) => part !== '');
  if (assignments.length === 0) {
    return {
      ok: false,
      errors: ['the grid is empty; expected e.g. learningRate=0.001,0.01;hiddenUnits=8,16'],
    };
  }
  for (const assignment of assignments) {
    const equals = assignment.indexOf('=');
    const name = equals < 0 ? '' : assignment.slice(0, equals).trim();
    if (equals < 0 || name === '') {
      errors.push(`"${assignment}" is not of the form name=value1,value2`);
      continue;
    }
    if (grid.has(name)) {
      errors.push(`"${name}" is given more than once`);
      continue;
    }
    const tokens = assignment
      .slice(equals + 1)
      .split(',')
      .map((token) => token.trim());
    if (tokens.some((token) => token === '')) {
      errors.push(`"${assignment}" has an empty value`);
      continue;
    }
    grid.set(
      name,
      tokens.map((token) => (NUMBER_PATTERN.test(token) ? Number(token) : token)),
    );
  }
  return errors.length === 0 ? { ok: true, value: Object.fromEntries(grid) } : { ok: false, errors };
}
