/** How a shipped raw file is read: the declared format every import of that dataset is checked against. */
export interface DatasetDefinition {
  name: string;
  description: string;
  task: 'classification';
  /** Path of the shipped raw file, relative to DATA_DIR. */
  file: string;
  format: { delimiter: string; header: boolean };
  features: string[];
  target: string;
  /** Class names in index order; undefined means "the sorted distinct values found on import". */
  classes?: string[];
  /** Documented corrections applied on every import, recorded with the version. */
  cleaningRules: CleaningRule[];
  source: string;
}

export interface CleaningRule {
  id: string;
  /** 1-based data row number in the raw file (header excluded). */
  row: number;
  /** The values the row must hold before the rule applies; a mismatch means the rule does not fit this file. */
  expect: Record<string, number>;
  set: Record<string, number>;
  reference: string;
}
