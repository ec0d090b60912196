import type { OnnxFeatureColumn, OnnxImageInput } from '@sepal/contracts';

/**
 * What a request must match: the model's feature names (in input order), class names (by index; none for a
 * regressor), and for models with typed columns where each feature goes: the numeric input (`features`, NaN when
 * missing) or the categorical one (`categorical`, raw strings).
 */
export interface ModelSignature {
  readonly featureNames: readonly string[];
  readonly labels: readonly string[];
  /** feature name -> column, precomputed once per model for the hot path. */
  readonly featureIndex: ReadonlyMap<string, number>;
  /** "sepal_length, sepal_width, ..." for error messages. */
  readonly featureList: string;
  /** 'regression': the model answers a value per row (output `value` [N, 1]), no classes. */
  readonly task: 'classification' | 'regression';
  /**
   * Per feature, where its cell goes; null for a model without typed columns (every feature numeric and required, the
   * numeric input is [N, features]).
   */
  readonly columns: readonly SignatureColumn[] | null;
  /** Width of the numeric input. */
  readonly numericCount: number;
  /** Width of the categorical input (0: the model has none). */
  readonly categoricalCount: number;
  /**
   * An image model: its input is `features` [N, height, width, channels] of `inputType` (pixel values 0..255), and
   * `numericCount` is height x width x channels (rows are images, row-major NHWC). null: a table model.
   */
  readonly image: OnnxImageInput | null;
}

export interface SignatureColumn {
  readonly name: string;
  readonly type: 'numeric' | 'categorical';
  /** Column of this feature in its input (numeric or categorical). */
  readonly slot: number;
  /**
   * A null or missing value is allowed: imputed (numeric) or encoded as all zeros (categorical). Only for a feature
   * that had missing values in training (`missing` in its metadata); a model exported before that was recorded
   * requires every feature.
   */
  readonly nullable: boolean;
  /** The training categories (categorical); a value outside them encodes as all zeros. */
  readonly categories?: readonly string[];
}

export function createSignature(
  featureNames: readonly string[],
  labels: readonly string[],
  options: {
    task?: 'classification' | 'regression';
    columns?: readonly OnnxFeatureColumn[] | null;
    image?: OnnxImageInput | null;
  } = {},
): ModelSignature {
  const task = options.task ?? 'classification';
  const featureIndex = new Map(featureNames.map((name, index) => [name, index]));
  if (featureIndex.size !== featureNames.length) throw new Error('feature names must be unique');
  if (featureNames.length === 0) throw new Error('the model has no features');
  if (task === 'classification' && labels.length === 0) throw new Error('the model has no classes');
  let numericCount = 0;
  let categoricalCount = 0;
  const columns =
    options.columns?.map((column): SignatureColumn => {
      if (column.type === 'categorical') {
        return {
          name: column.name,
          type: 'categorical',
          slot: categoricalCount++,
          nullable: column.missing === true,
          categories: column.categories,
        };
      }
      return {
        name: column.name,
        type: 'numeric',
        slot: numericCount++,
        nullable: column.imputed !== undefined && column.missing === true,
      };
    }) ?? null;
  if (columns === null) numericCount = featureNames.length;
  const image = options.image ?? null;
  if (image) {
    if (task !== 'classification') throw new Error('an image model must be a classifier');
    numericCount = image.height * image.width * image.channels;
  }
  return {
    featureNames,
    labels,
    featureIndex,
    featureList: featureNames.join(', '),
    task,
    columns,
    numericCount,
    categoricalCount,
    image,
  };
}
