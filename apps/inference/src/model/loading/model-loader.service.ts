import { Inject, Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { classifierStackKey } from '@sepal/ml';
import { DriftMonitors } from '../../drift/drift-monitors.service';
import { InferenceConfig, InferenceConfigValues } from '../../inference.config';
import { InferenceMetrics } from '../../metrics/inference-metrics.service';
import { ModelStacks } from '../../stacking/model-stacks.service';
import { INPUT_NAME, LoadedModel, Stackable } from './loaded-model';
import type { ModelSignature } from '../../predict/model-signature';
import { ArtifactMetadata, readArtifactMetadata } from './model-metadata';
import { ModelRegistry, ModelSource } from '../registry/model-registry';
import { OnnxSession, OnnxSessions } from './onnx-sessions.service';

export class ModelLoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelLoadError';
  }
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/**
 * Whether the graph's input agrees with the metadata: an image model's `features` is 4-D [N, H, W, C] of its
 * input_type, a table model's is not 4-D. null when they agree (or the session cannot say).
 */
export function imageInputProblem(session: OnnxSession, signature: ModelSignature): string | null {
  const input = session.inputMetadata?.find((value) => value.name === INPUT_NAME);
  if (!input || !input.isTensor) return null;
  const dims = input.shape.slice(1).map(String).join('x');
  const { image } = signature;
  if (!image) {
    return input.shape.length === 4
      ? `the graph's input is an image tensor [N, ${dims.replaceAll('x', ', ')}] but its metadata has no input_kind=image (re-export it with the CNN exporter)`
      : null;
  }
  const expected = [image.height, image.width, image.channels].join('x');
  if (input.shape.length !== 4 || dims !== expected || input.type !== image.inputType) {
    return `its metadata describes ${image.inputType} images of ${expected} but the graph's input is ${input.type} [${input.shape.join(', ')}]`;
  }
  return null;
}

/**
 * Turns a registered version (as the registry answered it) into a verified, warmed session: download by digest from
 * the registry, SHA-256 check against the registry's digest, metadata, session, warm-up run.
 */
@Injectable()
export class ModelLoader {
  constructor(
    @Inject(InferenceConfig) private readonly config: InferenceConfigValues,
    private readonly registry: ModelRegistry,
    private readonly sessions: OnnxSessions,
    private readonly metrics: InferenceMetrics,
    private readonly driftMonitors: DriftMonitors,
    private readonly stacks: ModelStacks,
  ) {}

  /** The version aliased `champion` of a model, or null when the registry has none. */
  async champion(modelName: string): Promise<ModelSource | null> {
    try {
      return await this.registry.champion(modelName);
    } catch (error) {
      throw new ModelLoadError(`cannot look up the champion of ${modelName}: ${messageOf(error)}`);
    }
  }

  /** Downloads the artifact from the registry by its digest and checks the bytes against that digest. */
  async download(source: ModelSource): Promise<Uint8Array> {
    const bytes = await this.registry.download(source.sha256);
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (actual !== source.sha256) {
      throw new ModelLoadError(
        `SHA-256 mismatch for version ${source.version}: expected ${source.sha256}, downloaded ${actual} (${bytes.length} bytes)`,
      );
    }
    return bytes;
  }

  /** Download, verify, read metadata, create the session and warm it with one run. */
  async load(modelName: string, source: ModelSource): Promise<LoadedModel> {
    const bytes = await this.download(source);
    let metadata: ArtifactMetadata;
    try {
      metadata = readArtifactMetadata(bytes);
    } catch (error) {
      throw new ModelLoadError(`version ${source.version}: ${messageOf(error)}`);
    }
    let session: OnnxSession;
    try {
      session = await this.sessions.create(bytes);
    } catch (error) {
      throw new ModelLoadError(`version ${source.version}: onnxruntime cannot load it (${messageOf(error)})`);
    }
    const { signature } = metadata;
    const inputProblem = imageInputProblem(session, signature);
    if (inputProblem) {
      await session.release().catch(() => undefined);
      throw new ModelLoadError(`version ${source.version}: ${inputProblem}`);
    }
    const model = new LoadedModel(
      session,
      {
        name: modelName,
        version: source.version,
        sha256: source.sha256,
        runId: metadata.runId ?? source.runId ?? null,
        datasetVersion: metadata.datasetVersion,
        size: bytes.length,
        loadedAt: new Date().toISOString(),
        testMetrics: source.metrics,
      },
      signature,
      this.metrics,
      {
        coalesce: this.config.PREDICT_COALESCE,
        windowUs: this.config.PREDICT_BATCH_WINDOW_US,
        maxRows: this.config.MAX_BATCH_ROWS,
      },
      signature.image
        ? this.driftMonitors.createForImages(
            { name: modelName, version: source.version, image: signature.image, labels: signature.labels },
            metadata.imageReference,
          )
        : this.driftMonitors.create(
            { name: modelName, version: source.version, featureNames: signature.featureNames },
            metadata.featureReference,
          ),
      this.stackable(bytes, metadata),
    );
    try {
      await model.warmUp();
    } catch (error) {
      model.retire();
      throw new ModelLoadError(`version ${source.version}: the warm-up run failed (${messageOf(error)})`);
    }
    this.stacks.add(model);
    return model;
  }

  /** The artifact and its architecture key when the model may share runs with others (PREDICT_STACKING). */
  private stackable(bytes: Uint8Array, { signature }: ArtifactMetadata): Stackable | null {
    if (
      !this.config.PREDICT_STACKING ||
      !this.config.PREDICT_COALESCE ||
      signature.task !== 'classification' ||
      signature.categoricalCount > 0 ||
      signature.image !== null ||
      bytes.length > this.config.PREDICT_STACK_MAX_BYTES
    ) {
      return null;
    }
    const key = classifierStackKey(bytes);
    return key === null ? null : { key, bytes };
  }
}
