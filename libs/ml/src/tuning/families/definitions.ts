import { MAX_TREE_BINS, MAX_TREE_DEPTH } from '../../trees/tree-params';

/** How one parameter of a tree family is checked: a bounded number (or one word), a boolean, or one of some words. */
export type Definition =
  | { kind: 'number'; integer: boolean; min: number; minExclusive?: boolean; max: number; or?: string }
  | { kind: 'boolean' }
  | { kind: 'choice'; values: readonly string[] };

export const featureFraction: Definition = {
  kind: 'number',
  integer: false,
  min: 0,
  minExclusive: true,
  max: 1,
  or: 'sqrt',
};
export const maxBins: Definition = { kind: 'number', integer: true, min: 2, max: MAX_TREE_BINS };
export const minSamplesLeaf: Definition = { kind: 'number', integer: true, min: 1, max: 1_000_000 };
export const maxDepth: Definition = { kind: 'number', integer: true, min: 0, max: MAX_TREE_DEPTH };

/** The value `value` takes as parameter `name` under `definition` (booleans may come as CLI strings), or the problem. */
export function definedValue(
  name: string,
  value: unknown,
  definition: Definition,
): { ok: true; value: unknown } | { ok: false; problem: string } {
  const shown = JSON.stringify(value) ?? String(value);
  if (definition.kind === 'boolean') {
    if (value === true || value === 'true') return { ok: true, value: true };
    if (value === false || value === 'false') return { ok: true, value: false };
    return { ok: false, problem: `${name}: ${shown} is not true or false` };
  }
  if (definition.kind === 'choice') {
    if (typeof value === 'string' && definition.values.includes(value)) return { ok: true, value };
    return { ok: false, problem: `${name}: ${shown} is not one of ${definition.values.join(', ')}` };
  }
  if (definition.or !== undefined && value === definition.or) return { ok: true, value };
  const alternative = definition.or === undefined ? '' : ` or "${definition.or}"`;
  if (typeof value !== 'number') {
    return { ok: false, problem: `${name}: ${shown} is not a number${alternative}` };
  }
  if (!Number.isFinite(value)) return { ok: false, problem: `${name}: ${value} is not a finite number` };
  if (definition.integer && !Number.isInteger(value)) {
    return { ok: false, problem: `${name}: ${value} is not an integer` };
  }
  const belowMin = definition.minExclusive ? value <= definition.min : value < definition.min;
  if (belowMin || value > definition.max) {
    const lower = `${definition.minExclusive ? '>' : '>='} ${definition.min}`;
    return {
      ok: false,
      problem: `${name}: ${value} is out of bounds, expected ${lower} and <= ${definition.max}${alternative}`,
    };
  }
  return { ok: true, value };
}
