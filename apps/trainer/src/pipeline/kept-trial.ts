import { createHash } from 'node:crypto';
import { z } from 'zod';
import {
  assertValidDenseClassifierSpec,
  assertValidDenseRegressorSpec,
  type DenseClassifierSpec,
} from '@sepal/ml';
import type { DenseTrialSpec } from '../training/dense-classifier';
import type { TrialResult } from '../sweep/grid-search';
import type { ModelRegistry } from './pipeline-ports';

const FORMAT = 'sepal.kept-trial/1';

/**
 * A job's selected trial as a retry needs it to resume after selection: the trial's result, its model and the
 * TensorFlow.js probabilities of the test split (the reference of the parity check), without training again.
 */
export interface KeptTrial {
  trial: TrialResult;
  description: string;
  spec: DenseTrialSpec;
  testProbabilities: number[][];
}

const keptTrialSchema = z.object({
  format: z.literal(FORMAT),
  trial: z
    .object({
      index: z.number().int().nonnegative(),
      params: z.record(z.string(), z.union([z.number(), z.string(), z.boolean()])),
      status: z.literal('finished'),
      valAccuracy: z.number(),
      valLoss: z.number(),
      bestEpoch: z.number().int(),
      epochsRun: z.number().int(),
      parameterCount: z.number().int(),
      stoppedEarly: z.boolean(),
      seconds: z.number(),
    })
    .passthrough(),
  description: z.string(),
  spec: z.unknown(),
  testProbabilities: z.array(z.array(z.number())),
});

/** Where kept trials live: the registry's content-addressed artifact store (any replica can read them back). */
export class KeptTrials {
  constructor(private readonly registry: Pick<ModelRegistry, 'uploadArtifact' | 'downloadArtifact'>) {}

  /** Uploads the trial; answers its SHA-256, the name a retry asks for it by. */
  async keep(kept: KeptTrial): Promise<string> {
    // Weights are Float32Arrays: written as plain numbers (each float32 is exactly a double) and read back as floats.
    const json = JSON.stringify({ format: FORMAT, ...kept }, (_key, value: unknown) =>
      ArrayBuffer.isView(value) ? Array.from(value as Float32Array) : value,
    );
    const bytes = new TextEncoder().encode(json);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    await this.registry.uploadArtifact(bytes, sha256);
    return sha256;
  }

  /** Downloads (the SHA-256 is verified) and validates a kept trial. */
  async load(sha256: string): Promise<KeptTrial> {
    const bytes = await this.registry.downloadArtifact(sha256);
    const parsed = keptTrialSchema.safeParse(JSON.parse(new TextDecoder().decode(bytes)));
    if (!parsed.success) {
      throw new Error(
        `artifact ${sha256} is not a kept trial (${FORMAT}): ${parsed.error.issues[0]?.message}`,
      );
    }
    const stored = parsed.data.spec as DenseTrialSpec;
    const spec: DenseTrialSpec = {
      ...stored,
      layers: (Array.isArray(stored?.layers) ? stored.layers : []).map((layer) => ({
        ...layer,
        kernel: Float32Array.from(layer.kernel ?? []),
        bias: Float32Array.from(layer.bias ?? []),
      })),
    };
    if ('task' in spec && spec.task === 'regression') assertValidDenseRegressorSpec(spec);
    else assertValidDenseClassifierSpec(spec as DenseClassifierSpec);
    const { trial, description, testProbabilities } = parsed.data;
    return { trial: trial as unknown as TrialResult, description, spec, testProbabilities };
  }
}
