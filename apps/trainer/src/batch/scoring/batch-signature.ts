import { parseOnnxMetadata } from '@sepal/contracts';
import { readOnnxMetadata } from '@sepal/ml';

/** One feature of a model as a batch row feeds it: its input (numeric or categorical), slot and whether it may miss. */
export interface BatchColumn {
  name: string;
  type: 'numeric' | 'categorical';
  /** Column in its input tensor. */
  slot: number;
  /** A missing cell is allowed (the graph imputes or encodes it): only for a feature that missed values in training. */
  nullable: boolean;
}

/** What every input row must match: the model's features in input order, its classes, its task. */
export interface BatchSignature {
  featureNames: readonly string[];
  /** Class names by index; empty for a regressor. */
  labels: readonly string[];
  task: 'classification' | 'regression';
  columns: readonly BatchColumn[];
  numericCount: number;
  categoricalCount: number;
}

/**
 * Reads the signature the trainer wrote into the artifact (the ONNX metadata contract of libs/contracts), the way the
 * gateway does: a model without typed columns has every feature numeric and required.
 */
export function batchSignature(bytes: Uint8Array): BatchSignature {
  const metadata = parseOnnxMetadata(readOnnxMetadata(bytes));
  let numericCount = 0;
  let categoricalCount = 0;
  const columns: BatchColumn[] = metadata.featureColumns
    ? metadata.featureColumns.map((c) =>
        c.type === 'categorical'
          ? { name: c.name, type: 'categorical', slot: categoricalCount++, nullable: c.missing === true }
          : {
              name: c.name,
              type: 'numeric',
              slot: numericCount++,
              nullable: c.imputed !== undefined && c.missing === true,
            },
      )
    : metadata.featureNames.map((name) => ({ name, type: 'numeric', slot: numericCount++, nullable: false }));
  return {
    featureNames: metadata.featureNames,
    labels: metadata.labels,
    task: metadata.task,
    columns,
    numericCount,
    categoricalCount,
  };
}
