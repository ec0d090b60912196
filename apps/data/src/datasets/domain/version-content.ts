import { createHash } from 'node:crypto';
import type { ClassCounts, DatasetSchema } from '@sepal/contracts';
import { SplitName, stableStratifiedSplit } from '@sepal/ml';

export type { ClassCounts, DatasetSchema };

export interface VersionRowInput {
  key: string;
  features: number[];
  label: number;
  origin: string;
}

export interface VersionRow extends VersionRowInput {
  split: SplitName;
}

export interface VersionContent {
  id: string;
  schema: DatasetSchema;
  rows: VersionRow[];
  trainRows: number;
  testRows: number;
  classCounts: ClassCounts;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** A stable identity for an imported row: its content plus its occurrence number among identical rows. */
export function importedRowKeys(rows: { features: number[]; label: number }[], dataset: string): string[] {
  const seen = new Map<string, number>();
  return rows.map((row) => {
    const content = `${row.features.join(',')}|${row.label}`;
    const occurrence = seen.get(content) ?? 0;
    seen.set(content, occurrence + 1);
    return `import:${sha256(`${dataset}|${content}|${occurrence}`).slice(0, 32)}`;
  });
}

/** The canonical text of a version: what its SHA-256 id is computed over. */
export function canonicalText(schema: DatasetSchema, rows: readonly VersionRow[]): string {
  const header = JSON.stringify({
    features: schema.features,
    target: schema.target,
    task: schema.task,
    labels: schema.labels,
  });
  const body = rows
    .map((r) => `${r.key}\t${r.features.map(String).join(',')}\t${r.label}\t${r.split}`)
    .join('\n');
  return `sepal-dataset-v1\n${header}\n${body}\n`;
}

export function countClasses(schema: DatasetSchema, rows: readonly VersionRow[]): ClassCounts {
  const counts: ClassCounts = { train: {}, test: {} };
  for (const split of ['train', 'test'] as const) for (const label of schema.labels) counts[split][label] = 0;
  for (const row of rows) counts[row.split][schema.labels[row.label]] += 1;
  return counts;
}

/**
 * Builds an immutable version: assigns splits (rows inherited from the parent keep theirs), counts classes
 * and names the result by the SHA-256 of its canonical content.
 */
export function buildVersionContent(
  schema: DatasetSchema,
  rows: readonly VersionRowInput[],
  split: { testFraction: number; seed: number; inherited?: ReadonlyMap<string, SplitName> },
): VersionContent {
  const assignment = stableStratifiedSplit(rows, {
    testFraction: split.testFraction,
    seed: split.seed,
    fixed: split.inherited,
  });
  const withSplit: VersionRow[] = rows.map((row) => ({ ...row, split: assignment.get(row.key) ?? 'train' }));
  const trainRows = withSplit.filter((r) => r.split === 'train').length;
  return {
    id: sha256(canonicalText(schema, withSplit)),
    schema,
    rows: withSplit,
    trainRows,
    testRows: withSplit.length - trainRows,
    classCounts: countClasses(schema, withSplit),
  };
}
