import { Inject, Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { InferenceSession } from 'onnxruntime-node';
import { DriftMonitors } from '../drift/drift-monitors.service';
import { InferenceConfig, InferenceConfigValues } from '../inference.config';
import { InferenceMetrics } from '../metrics/inference-metrics';
import { LoadedModel } from './loaded-model';
import { readArtifactMetadata } from './model-metadata';

/** A model version to load: from the registry's champion alias or a model.promoted event. */
export interface ModelSource {
  version: number;
  sha256: string;
  artifactUrl: string;
  runId?: string | null;
}

export class ModelLoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelLoadError';
  }
}

/** Talks to the registry and turns an artifact into a verified, warmed session. */
@Injectable()
export class ModelLoader {
  constructor(
    @Inject(InferenceConfig) private readonly config: InferenceConfigValues,
    private readonly metrics: InferenceMetrics,
    private readonly driftMonitors: DriftMonitors,
  ) {}

  /** The version aliased `champion`, or null when the registry has none (404). */
  async champion(): Promise<ModelSource | null> {
    const url = new URL(
      `/models/${encodeURIComponent(this.config.MODEL_NAME)}/aliases/champion`,
      this.config.REGISTRY_URL,
    );
    const response = await this.fetch(url, 'look up the champion');
    if (response.status === 404) {
      await response.body?.cancel();
      return null;
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new ModelLoadError(`the registry answered ${response.status} for ${url.pathname}`);
    }
    const body = (await response.json()) as Partial<ModelSource>;
    if (
      typeof body.version !== 'number' ||
      typeof body.sha256 !== 'string' ||
      typeof body.artifactUrl !== 'string'
    ) {
      throw new ModelLoadError(`the registry's champion answer lacks version, sha256 or artifactUrl`);
    }
    return {
      version: body.version,
      sha256: body.sha256,
      artifactUrl: body.artifactUrl,
      runId: body.runId ?? null,
    };
  }

  /** Downloads the artifact and checks its SHA-256 against the expected one. */
  async download(source: ModelSource): Promise<Uint8Array> {
    const url = new URL(source.artifactUrl, this.config.REGISTRY_URL);
    const response = await this.fetch(url, 'download the artifact');
    if (!response.ok) {
      await response.body?.cancel();
      throw new ModelLoadError(`the registry answered ${response.status} for ${url.href}`);
    }
    const bytes = new Uint8Array(await response.arrayBuffer());
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (actual !== source.sha256) {
      throw new ModelLoadError(
        `SHA-256 mismatch for version ${source.version}: expected ${source.sha256}, downloaded ${actual} (${bytes.length} bytes)`,
      );
    }
    const announced = response.headers.get('x-content-sha256');
    if (announced && announced !== actual) {
      throw new ModelLoadError(
        `X-Content-SHA256 ${announced} does not match the downloaded bytes (${actual})`,
      );
    }
    return bytes;
  }

  /** Download, verify, read metadata, create the session and warm it with one run. */
  async load(source: ModelSource): Promise<LoadedModel> {
    const bytes = await this.download(source);
    let metadata: ReturnType<typeof readArtifactMetadata>;
    try {
      metadata = readArtifactMetadata(bytes);
    } catch (error) {
      throw new ModelLoadError(`version ${source.version}: ${(error as Error).message}`);
    }
    let session: InferenceSession;
    try {
      session = await InferenceSession.create(bytes, {
        intraOpNumThreads: this.config.ORT_INTRA_OP_THREADS,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
      });
    } catch (error) {
      throw new ModelLoadError(
        `version ${source.version}: onnxruntime cannot load it (${(error as Error).message})`,
      );
    }
    const model = new LoadedModel(
      session,
      {
        name: this.config.MODEL_NAME,
        version: source.version,
        sha256: source.sha256,
        runId: metadata.runId ?? source.runId ?? null,
        datasetVersion: metadata.datasetVersion,
        size: bytes.length,
        loadedAt: new Date().toISOString(),
      },
      metadata.signature,
      this.metrics,
      {
        coalesce: this.config.PREDICT_COALESCE,
        windowUs: this.config.PREDICT_BATCH_WINDOW_US,
        maxRows: this.config.MAX_BATCH_ROWS,
      },
      this.driftMonitors.create(
        {
          name: this.config.MODEL_NAME,
          version: source.version,
          featureNames: metadata.signature.featureNames,
        },
        metadata.featureReference,
      ),
    );
    try {
      const warm = await model.runSession(new Float32Array(metadata.signature.featureNames.length), 1);
      if (warm.probabilities.length !== metadata.signature.labels.length) {
        throw new Error(
          `it returns ${warm.probabilities.length} probabilities per row for ${metadata.signature.labels.length} classes`,
        );
      }
    } catch (error) {
      model.retire();
      throw new ModelLoadError(
        `version ${source.version}: the warm-up run failed (${(error as Error).message})`,
      );
    }
    return model;
  }

  private async fetch(url: URL, what: string): Promise<Response> {
    try {
      return await fetch(url, { signal: AbortSignal.timeout(this.config.REGISTRY_TIMEOUT_MS) });
    } catch (error) {
      const cause = (error as Error & { cause?: Error }).cause?.message ?? (error as Error).message;
      throw new ModelLoadError(`cannot ${what} at ${url.origin} (${cause})`);
    }
  }
}
