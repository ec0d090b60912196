import type { AppliedCleaningRule } from '@sepal/contracts';
import { CleaningRule, DatasetDefinition } from '../../catalog/dataset-definition';
import { DatasetFormatError } from './dataset-format-error';
import { RawRow } from './parse-delimited';

export type { AppliedCleaningRule };

export interface CleaningResult {
  rows: RawRow[];
  applied: AppliedCleaningRule[];
}

function applyRule(
  rows: RawRow[],
  rule: CleaningRule,
  definition: DatasetDefinition,
): AppliedCleaningRule | null {
  const target = rows[rule.row - 1];
  if (!target) return null;
  const column = (feature: string) => {
    const i = definition.features.indexOf(feature);
    if (i < 0) throw new Error(`cleaning rule ${rule.id} names unknown feature '${feature}'`);
    return i;
  };
  const matches = Object.entries(rule.expect).every(
    ([feature, value]) => target.features[column(feature)] === value,
  );
  if (!matches) return null;
  const changes = Object.entries(rule.set).map(([feature, to]) => {
    const i = column(feature);
    const from = target.features[i];
    target.features[i] = to;
    return { feature, from, to };
  });
  return { id: rule.id, row: rule.row, changes, reference: rule.reference };
}

/**
 * Applies the declared corrections. A rule applies only where the row still holds the documented wrong values,
 * so an already-corrected file imports unchanged and the version records which rules it actually applied.
 */
export function applyCleaningRules(rows: RawRow[], definition: DatasetDefinition): CleaningResult {
  if (rows.length === 0) throw new DatasetFormatError(null, 'the file is empty');
  const copy = rows.map((row) => ({ ...row, features: [...row.features] }));
  const applied = definition.cleaningRules
    .map((rule) => applyRule(copy, rule, definition))
    .filter((rule): rule is AppliedCleaningRule => rule !== null);
  return { rows: copy, applied };
}
