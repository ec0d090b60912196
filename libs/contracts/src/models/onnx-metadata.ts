import { z } from 'zod';
import { nonEmptyName, sha256Hex } from '../events/common';

/**
 * The metadata_props keys the trainer writes into every ONNX artifact and the gateway reads back. The values are
 * strings; the JSON-valued ones are described by `onnxModelMetadataSchema`.
 */
export const OnnxMetadataKeys = {
  /** The registered model the artifact was trained for. */
  modelName: 'model_name',
  /** The class names by index: a JSON array, or an object {"0": name, ...}. */
  labels: 'label_map',
  /** The input features in tensor column order: a JSON array of unique names. */
  featureNames: 'feature_names',
  /** The dataset trained on. */
  dataset: 'dataset',
  /** The dataset version (its SHA-256) trained on. */
  datasetVersion: 'dataset_version',
  /** The registry run (the sweep's parent run) that produced the artifact. */
  runId: 'run_id',
  /** Per feature, in feature order, PSI bins of the raw training split (JSON array of {edges, proportions}). */
  featureReference: 'feature_reference',
  /** 'classification' (the default when absent) or 'regression' (then the graph's output is `value` [N, 1]). */
  task: 'task',
  /**
   * Per feature, in feature order, its type and what the graph does with it: a JSON array of
   * {name, type: 'numeric', imputed} (a missing value becomes `imputed`, the training median) or
   * {name, type: 'categorical', categories} (one-hot over `categories`; an unseen one encodes as all zeros).
   * `missing: true` on a column: the training split had missing values in it, so a request may leave it out (the graph
   * imputes or zero-encodes it); absent or false: a request must send it (models exported before `missing` existed
   * require every feature). Absent key: every feature is numeric and must be present (models before columns).
   */
  featureColumns: 'feature_columns',
  /**
   * 'table' (the default when absent: the input is `features` [N, F]) or 'image': the input is `features`
   * [N, H, W, C] of pixel values 0..255 (NHWC, the scaling is in the graph), described by `image_shape` and
   * `input_type`; `feature_names` is then optional (an image has no named features).
   */
  inputKind: 'input_kind',
  /** An image model's input shape: a JSON array [height, width, channels] (channels 1 grey, 3 RGB). */
  imageShape: 'image_shape',
  /** An image model's input element type: 'uint8' or 'float32' (the pixel values 0..255 either way). */
  inputType: 'input_type',
  /**
   * An image model's drift reference (JSON): `intensity`, per channel, PSI bins of each training image's mean
   * intensity of that channel (0..255); `classes`, the proportion of each class (by index) in the training split.
   */
  imageReference: 'image_reference',
} as const;
export type OnnxMetadataKey = (typeof OnnxMetadataKeys)[keyof typeof OnnxMetadataKeys];

const K = OnnxMetadataKeys;

/** A JSON-encoded metadata value, parsed, then checked against `schema`. */
function jsonValue<T extends z.ZodType>(schema: T) {
  return z
    .string()
    .transform((text, ctx): unknown => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'is not JSON' });
        return z.NEVER;
      }
    })
    .pipe(schema);
}

const uniqueNames = (what: string) =>
  z
    .array(z.string().min(1, `a ${what} name must not be empty`))
    .min(1, `must name at least one ${what}`)
    .refine((names) => new Set(names).size === names.length, `${what} names must be unique`);

/** label_map: class names by index, as a JSON array or as an object {"0": name, ...} numbered 0..k-1. */
const labelMap = z
  .unknown()
  .transform((value, ctx): unknown => {
    if (Array.isArray(value) || value === null || typeof value !== 'object') return value;
    const labels: unknown[] = [];
    for (const [index, name] of Object.entries(value)) {
      if (!/^(0|[1-9]\d*)$/.test(index)) {
        ctx.addIssue({ code: 'custom', message: `bad class index '${index}' (classes are numbered 0..k-1)` });
        return z.NEVER;
      }
      labels[Number(index)] = name;
    }
    if (labels.length !== Object.keys(value).length) {
      ctx.addIssue({ code: 'custom', message: 'must number the classes 0..k-1' });
      return z.NEVER;
    }
    return labels;
  })
  .pipe(uniqueNames('class'));

const finite = z.number().refine(Number.isFinite, 'must be a finite number');

/** PSI bins of one feature on the training split (the shape of @sepal/ml's PsiReference). */
export const psiReferenceSchema = z
  .object({
    edges: z
      .array(finite)
      .refine(
        (edges) => edges.every((edge, k) => k === 0 || edge > edges[k - 1]),
        'must be strictly increasing',
      ),
    proportions: z
      .array(finite.refine((p) => p >= 0, 'must not be negative'))
      .refine((ps) => Math.abs(ps.reduce((sum, p) => sum + p, 0) - 1) <= 1e-6, 'must sum to 1'),
  })
  .refine((ref) => ref.proportions.length === ref.edges.length + 1, {
    message: 'needs one proportion per bin (edges + 1)',
    path: ['proportions'],
  });
export type PsiReferenceValue = z.infer<typeof psiReferenceSchema>;

/** One entry of feature_columns. */
export const onnxFeatureColumnSchema = z.discriminatedUnion('type', [
  z.object({
    name: z.string().min(1),
    type: z.literal('numeric'),
    imputed: finite.optional(),
    missing: z.boolean().optional(),
  }),
  z.object({
    name: z.string().min(1),
    type: z.literal('categorical'),
    categories: z.array(z.string()),
    missing: z.boolean().optional(),
  }),
]);
export type OnnxFeatureColumn = z.infer<typeof onnxFeatureColumnSchema>;

/** image_shape: [height, width, channels], each a positive integer (channels 1 or 3). */
const imageShapeSchema = z
  .tuple([
    z.number().int().min(1).max(65_535),
    z.number().int().min(1).max(65_535),
    z.union([z.literal(1), z.literal(3)]),
  ])
  .transform(([height, width, channels]) => ({ height, width, channels }));

/** image_reference: per-channel mean-intensity bins and the training class proportions. */
export const imageReferenceSchema = z.object({
  intensity: z.array(psiReferenceSchema).min(1),
  classes: z
    .array(finite.refine((p) => p >= 0, 'must not be negative'))
    .min(1)
    .refine((ps) => Math.abs(ps.reduce((sum, p) => sum + p, 0) - 1) <= 1e-6, 'must sum to 1'),
});
export type ImageReferenceValue = z.infer<typeof imageReferenceSchema>;

/** What an image model takes: `features` [N, height, width, channels] of `inputType`, pixel values 0..255. */
export interface OnnxImageInput {
  height: number;
  width: number;
  channels: 1 | 3;
  inputType: 'uint8' | 'float32';
}

/** The string-to-string metadata of an artifact, checked and decoded; unknown keys are ignored. */
export const onnxModelMetadataSchema = z
  .object({
    [K.inputKind]: z.enum(['table', 'image']).optional(),
    [K.imageShape]: jsonValue(imageShapeSchema).optional(),
    [K.inputType]: z.enum(['uint8', 'float32']).optional(),
    [K.imageReference]: jsonValue(imageReferenceSchema).optional(),
    [K.modelName]: nonEmptyName.optional(),
    [K.task]: z.enum(['classification', 'regression']).optional(),
    [K.featureColumns]: jsonValue(z.array(onnxFeatureColumnSchema)).optional(),
    [K.labels]: jsonValue(labelMap).optional(),
    [K.featureNames]: jsonValue(uniqueNames('feature')).optional(),
    [K.dataset]: nonEmptyName.optional(),
    [K.datasetVersion]: sha256Hex.optional(),
    [K.runId]: z.string().uuid('must be a registry run id (a UUID)').optional(),
    [K.featureReference]: jsonValue(z.array(psiReferenceSchema)).optional(),
  })
  .superRefine((metadata, ctx) => {
    const image = metadata[K.inputKind] === 'image';
    if (image) imageProblems(metadata, ctx);
    else if (metadata[K.featureNames] === undefined) {
      ctx.addIssue({ code: 'custom', path: [K.featureNames], message: 'is required for a table model' });
      return;
    }
    if ((metadata[K.task] ?? 'classification') === 'classification' && metadata[K.labels] === undefined) {
      ctx.addIssue({ code: 'custom', path: [K.labels], message: 'is required for a classifier' });
    }
    const columns = metadata[K.featureColumns];
    if (
      columns &&
      columns.map((c) => c.name).join('\u0000') !== (metadata[K.featureNames] ?? []).join('\u0000')
    ) {
      ctx.addIssue({
        code: 'custom',
        path: [K.featureColumns],
        message: 'must name the features of feature_names, in the same order',
      });
    }
    const references = metadata[K.featureReference];
    const features = metadata[K.featureNames]?.length ?? 0;
    if (references && references.length !== features) {
      ctx.addIssue({
        code: 'custom',
        path: [K.featureReference],
        message: `has ${references.length} references for ${features} features (one per feature, in feature order)`,
      });
    }
  })
  .transform((metadata) => ({
    /** null: a table model; else the image input (input_kind 'image'). */
    image: imageInputOf(metadata),
    /** An image model's drift reference; null when absent. */
    imageReference: metadata[K.imageReference] ?? null,
    modelName: metadata[K.modelName] ?? null,
    task: metadata[K.task] ?? ('classification' as const),
    /** null: every feature numeric and required (an artifact exported before feature columns existed). */
    featureColumns: metadata[K.featureColumns] ?? null,
    /** Class names by index; empty for a regressor. */
    labels: metadata[K.labels] ?? [],
    /** An image model without feature_names: ['image']. */
    featureNames: metadata[K.featureNames] ?? ['image'],
    dataset: metadata[K.dataset] ?? null,
    datasetVersion: metadata[K.datasetVersion] ?? null,
    runId: metadata[K.runId] ?? null,
    featureReference: metadata[K.featureReference] ?? null,
  }));

type RawMetadata = {
  [K.inputKind]?: 'table' | 'image';
  [K.imageShape]?: { height: number; width: number; channels: 1 | 3 };
  [K.inputType]?: 'uint8' | 'float32';
  [K.imageReference]?: ImageReferenceValue;
  [K.task]?: 'classification' | 'regression';
};

function imageProblems(metadata: RawMetadata, ctx: z.RefinementCtx): void {
  const shape = metadata[K.imageShape];
  if (shape === undefined) {
    ctx.addIssue({ code: 'custom', path: [K.imageShape], message: 'is required for an image model' });
  }
  if (metadata[K.inputType] === undefined) {
    ctx.addIssue({ code: 'custom', path: [K.inputType], message: 'is required for an image model' });
  }
  if (metadata[K.task] === 'regression') {
    ctx.addIssue({ code: 'custom', path: [K.task], message: 'an image model must be a classifier' });
  }
  const reference = metadata[K.imageReference];
  if (shape && reference && reference.intensity.length !== shape.channels) {
    ctx.addIssue({
      code: 'custom',
      path: [K.imageReference],
      message: `has ${reference.intensity.length} intensity references for ${shape.channels} channel(s)`,
    });
  }
}

function imageInputOf(metadata: RawMetadata): OnnxImageInput | null {
  const shape = metadata[K.imageShape];
  const inputType = metadata[K.inputType];
  if (metadata[K.inputKind] !== 'image' || !shape || !inputType) return null;
  return { ...shape, inputType };
}

/** What an artifact's metadata says; `null` where an optional key is absent. */
export type OnnxModelMetadata = z.output<typeof onnxModelMetadataSchema>;

/** An artifact's metadata breaks the contract: `key` is the offending (or missing) metadata key. */
export class OnnxMetadataError extends Error {
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(message);
    this.name = 'OnnxMetadataError';
  }
}

function describeIssue(issue: z.core.$ZodIssue, raw: Readonly<Record<string, string>>): OnnxMetadataError {
  const [key, ...rest] = issue.path.map(String);
  if (key === undefined) return new OnnxMetadataError('', `the ONNX metadata is invalid: ${issue.message}`);
  if (!Object.prototype.hasOwnProperty.call(raw, key)) {
    return new OnnxMetadataError(key, `the ONNX metadata has no '${key}'`);
  }
  const where = rest.map((part) => (/^\d+$/.test(part) ? `[${part}]` : `.${part}`)).join('');
  return new OnnxMetadataError(
    key,
    `the ONNX metadata '${key}'${where ? ` ${where}` : ''}: ${issue.message}`,
  );
}

/** Checks and decodes an artifact's metadata; throws OnnxMetadataError naming the first bad or missing key. */
export function parseOnnxMetadata(raw: Readonly<Record<string, string>>): OnnxModelMetadata {
  const parsed = onnxModelMetadataSchema.safeParse(raw);
  if (!parsed.success) throw describeIssue(parsed.error.issues[0], raw);
  return parsed.data;
}

/** What a producer writes: the required keys, and the optional ones it knows. */
export type OnnxModelMetadataInput = Pick<OnnxModelMetadata, 'labels'> &
  Partial<Omit<OnnxModelMetadata, 'labels'>>;

/**
 * The metadata_props of an artifact, encoded as the contract says and checked the way the gateway will check it,
 * so a producer cannot register an artifact the gateway would refuse.
 */
export function encodeOnnxMetadata(metadata: OnnxModelMetadataInput): Record<string, string> {
  const entries: [string, string | null | undefined][] = [
    [K.modelName, metadata.modelName],
    [K.task, metadata.task === 'regression' ? 'regression' : undefined],
    [K.featureColumns, metadata.featureColumns ? JSON.stringify(metadata.featureColumns) : undefined],
    [K.labels, metadata.task === 'regression' ? undefined : JSON.stringify(metadata.labels)],
    [K.featureNames, metadata.featureNames && JSON.stringify(metadata.featureNames)],
    [K.dataset, metadata.dataset],
    [K.datasetVersion, metadata.datasetVersion],
    [K.runId, metadata.runId],
    [K.featureReference, metadata.featureReference && JSON.stringify(metadata.featureReference)],
    [K.inputKind, metadata.image ? 'image' : undefined],
    [
      K.imageShape,
      metadata.image &&
        JSON.stringify([metadata.image.height, metadata.image.width, metadata.image.channels]),
    ],
    [K.inputType, metadata.image?.inputType],
    [K.imageReference, metadata.imageReference && JSON.stringify(metadata.imageReference)],
  ];
  const raw = Object.fromEntries(
    entries.filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
  );
  parseOnnxMetadata(raw);
  return raw;
}
