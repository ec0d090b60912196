import { DatasetDefinition } from '../../catalog/dataset-definition';

/** Class names by index. Declared classes keep their order; otherwise distinct values sorted (numbers numerically). */
export function buildLabelMap(definition: DatasetDefinition, classNames: Iterable<string>): string[] {
  if (definition.classes) return [...definition.classes];
  return [...new Set(classNames)].sort((a, b) => {
    const [x, y] = [Number(a), Number(b)];
    return Number.isFinite(x) && Number.isFinite(y) ? x - y : a.localeCompare(b);
  });
}
