import { DatasetDefinition } from '../../catalog/dataset-definition';
import { AppliedCleaningRule, applyCleaningRules } from './cleaning';
import { buildLabelMap } from './label-map';
import { parseDelimited } from './parse-delimited';
import { DatasetSchema, importedRowKeys, VersionRowInput } from './version-content';

export interface ImportedFile {
  schema: DatasetSchema;
  rows: VersionRowInput[];
  applied: AppliedCleaningRule[];
}

/**
 * A raw file as version rows: parsed against its definition, cleaned, labels encoded by the label map, each row keyed
 * by its content and named by its line (`file:line`). Throws on the first deviation, so nothing half-read is written.
 */
export function readImport(text: string, definition: DatasetDefinition, fileName: string): ImportedFile {
  const { rows, applied } = applyCleaningRules(parseDelimited(text, definition), definition);
  const labels = buildLabelMap(
    definition,
    rows.map((r) => r.className),
  );
  const schema: DatasetSchema = {
    features: definition.features,
    target: definition.target,
    task: definition.task,
    labels,
  };
  const encoded = rows.map((r) => ({ features: r.features, label: labels.indexOf(r.className) }));
  const keys = importedRowKeys(encoded, definition.name);
  return {
    schema,
    rows: encoded.map((r, i) => ({ ...r, key: keys[i], origin: `${fileName}:${rows[i].line}` })),
    applied,
  };
}
