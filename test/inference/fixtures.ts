import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { encodeOnnxMetadata } from '@sepal/contracts';
import { closeEmbeddedDatabases } from '@sepal/persistence';
import { createTestDatabase, deleteNamespace, freePort, TestDatabase } from '@sepal/testing';
import { InferenceConfig, startInferenceApp } from '../../apps/inference/src';
import { RegistryConfig, startRegistryApp } from '../../apps/registry/src';
import { exportDenseClassifierToOnnx, type PsiReference } from '@sepal/ml';

export const AMQP_URL = process.env.TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

/** Removes a real-services run's queues from the broker: the test's own `queues` and the test registry's. */
export function deleteTestQueues(namespace: string, queues: string[]): Promise<void> {
  return deleteNamespace(AMQP_URL, namespace, [...queues, 'registry.training', 'registry.jobs']);
}

export const IRIS_FEATURES = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];
export const IRIS_LABELS = ['Iris-setosa', 'Iris-versicolor', 'Iris-virginica'];

/** The run every test model comes from: written into the ONNX metadata and created in the registry. */
export const IRIS_RUN_ID = '3c1e6a8e-0d43-4a4b-9d0c-2f6f8d1e7b21';
export const IRIS_DATASET_VERSION = 'd'.repeat(64);

export const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/**
 * A small Iris-like classifier (one softmax layer on petal length) as ONNX bytes. `shift` moves the decision
 * boundaries, so two versions give different probabilities for the same row. `featureReference` is written as the
 * trainer writes it (metadata `feature_reference`), which turns on drift monitoring in the gateway.
 */
export function irisOnnx(
  options: { shift?: number; modelName?: string; runId?: string; featureReference?: PsiReference[] } = {},
): Uint8Array {
  const shift = options.shift ?? 0;
  const kernel = new Float32Array([
    // rows: features, columns: classes (setosa, versicolor, virginica)
    0, 0, 0, 0, 0, 0, -3, 0, 3, -1, 0, 1,
  ]);
  return exportDenseClassifierToOnnx(
    {
      featureNames: IRIS_FEATURES,
      labels: IRIS_LABELS,
      standardizer: { mean: [5.8, 3.0, 3.8, 1.2], std: [0.8, 0.4, 1.8, 0.8] },
      layers: [
        { kernel, bias: new Float32Array([shift, 1, -shift]), inputs: 4, units: 3, activation: 'softmax' },
      ],
    },
    encodeOnnxMetadata({
      modelName: options.modelName ?? 'IrisModel',
      labels: IRIS_LABELS,
      featureNames: IRIS_FEATURES,
      datasetVersion: IRIS_DATASET_VERSION,
      runId: options.runId ?? IRIS_RUN_ID,
      featureReference: options.featureReference ?? null,
    }),
  );
}

export const WINE_FEATURES = [
  'fixed_acidity',
  'volatile_acidity',
  'citric_acid',
  'residual_sugar',
  'chlorides',
  'free_sulfur_dioxide',
  'total_sulfur_dioxide',
  'density',
  'pH',
  'sulphates',
  'alcohol',
];
export const WINE_LABELS = ['low', 'medium', 'high'];
export const WINE_RUN_ID = '7d1f0c4e-2b3a-4c5d-8e9f-0a1b2c3d4e5f';

/** A small wine quality classifier (one softmax layer on alcohol and volatile acidity) as ONNX bytes. */
export function wineOnnx(options: { shift?: number } = {}): Uint8Array {
  const shift = options.shift ?? 0;
  const kernel = new Float32Array(WINE_FEATURES.length * 3);
  // volatile acidity lowers the quality, alcohol raises it (rows: features, columns: low, medium, high)
  kernel.set([1, 0, -1], 1 * 3);
  kernel.set([-2, 0, 2], 10 * 3);
  return exportDenseClassifierToOnnx(
    {
      featureNames: WINE_FEATURES,
      labels: WINE_LABELS,
      standardizer: {
        mean: [8.3, 0.53, 0.27, 2.5, 0.087, 15.9, 46.5, 0.997, 3.31, 0.66, 10.4],
        std: [1.7, 0.18, 0.19, 1.4, 0.047, 10.5, 32.9, 0.0019, 0.15, 0.17, 1.07],
      },
      layers: [
        {
          kernel,
          bias: new Float32Array([shift, 0.5, -shift]),
          inputs: WINE_FEATURES.length,
          units: 3,
          activation: 'softmax',
        },
      ],
    },
    encodeOnnxMetadata({
      modelName: 'WineQuality',
      labels: WINE_LABELS,
      featureNames: WINE_FEATURES,
      datasetVersion: 'e'.repeat(64),
      runId: WINE_RUN_ID,
      featureReference: null,
    }),
  );
}

export interface PublishedVersion {
  version: number;
  sha256: string;
}

/**
 * The real registry (apps/registry) listening on 127.0.0.1, for the gateway to read champions and artifacts from.
 * On real services it gets a fresh PostgreSQL database and the broker at `amqpUrl`; on the embedded adapters an
 * in-memory PGlite and, because `amqpUrl` is unset, the process's in-process broker, which the gateway shares.
 * Models are published the real way: upload the artifact, register a version from a run, promote the champion (the
 * registry's outbox relay then announces model.promoted).
 */
export class TestRegistry {
  app!: NestFastifyApplication;
  url = '';
  modelsDir = '';
  private db?: TestDatabase;

  /** The admin key (SEPAL_API_KEY) when started with keys on; sent on every call of the fixture. */
  apiKey?: string;

  /** `apiKey`: keys on, with this bootstrap admin key. */
  async start(options: { amqpUrl?: string; namespace: string; apiKey?: string }): Promise<this> {
    this.apiKey = options.apiKey;
    this.db = options.amqpUrl ? await createTestDatabase('sepal_inference_test') : undefined;
    this.modelsDir = await mkdtemp(join(tmpdir(), 'sepal-inference-models-'));
    const port = await freePort();
    this.url = `http://127.0.0.1:${port}`;
    const config = RegistryConfig.load({
      DATABASE_URL: this.db?.url,
      AMQP_URL: options.amqpUrl,
      SEPAL_HOME: `memory://registry-${options.namespace}`,
      SEPAL_NAMESPACE: options.namespace,
      REGISTRY_HOST: '127.0.0.1',
      REGISTRY_PORT: String(port),
      REGISTRY_PUBLIC_URL: this.url,
      MODELS_DIR: this.modelsDir,
      REGISTRY_OUTBOX_INTERVAL_MS: '200',
      LOG_LEVEL: 'error',
      SEPAL_API_KEY: options.apiKey,
    });
    this.app = await startRegistryApp(config, { listen: true });
    return this;
  }

  private async call(
    method: 'POST' | 'PUT',
    url: string,
    payload: unknown,
    headers?: Record<string, string>,
  ) {
    const response = await this.app
      .getHttpAdapter()
      .getInstance()
      .inject({
        method,
        url,
        payload: payload as object,
        headers: { 'x-sepal-client': '1', ...headers, ...(this.apiKey ? { 'x-api-key': this.apiKey } : {}) },
      });
    if (response.statusCode >= 300) {
      throw new Error(`registry ${method} ${url} answered ${response.statusCode}: ${response.body}`);
    }
    return response.json();
  }

  /** POST /runs with a client-chosen id (idempotent). */
  async createRun(runId: string, experiment = 'iris', dataset = 'iris'): Promise<void> {
    await this.call('POST', '/runs', {
      experiment,
      runId,
      dataset,
      datasetVersion: IRIS_DATASET_VERSION,
    });
  }

  /** POST /artifacts (the bytes with their SHA-256), then POST /models/:name/versions from an existing run. */
  async register(name: string, bytes: Uint8Array, runId: string): Promise<PublishedVersion> {
    const digest = sha256(bytes);
    await this.call('POST', '/artifacts', Buffer.from(bytes), {
      'content-type': 'application/octet-stream',
      'x-content-sha256': digest,
    });
    const created = await this.call('POST', `/models/${encodeURIComponent(name)}/versions`, {
      runId,
      sha256: digest,
    });
    return { version: created.version, sha256: created.sha256 };
  }

  /** PUT /models/:name/aliases/champion; answers the registry's {alias, version, previousVersion}. */
  promote(
    name: string,
    version: number,
    reason = 'test',
  ): Promise<{ alias: string; version: number; previousVersion: number | null }> {
    return this.call('PUT', `/models/${encodeURIComponent(name)}/aliases/champion`, { version, reason });
  }

  /** PUT /models/:name/traffic: the split as the registry answers it, or the error for a refused one. */
  async traffic(name: string, body: unknown): Promise<{ statusCode: number; body: Record<string, unknown> }> {
    const response = await this.app
      .getHttpAdapter()
      .getInstance()
      .inject({
        method: 'PUT',
        url: `/models/${encodeURIComponent(name)}/traffic`,
        payload: body as object,
        headers: { 'x-sepal-client': '1' },
      });
    return { statusCode: response.statusCode, body: response.json() };
  }

  /** Where the registry keeps an artifact's bytes (content-addressed under MODELS_DIR). */
  artifactFile(digest: string): string {
    return join(this.modelsDir, digest.slice(0, 2), digest);
  }

  /** Flips one byte of a stored artifact (same size, wrong hash); returns a function that restores it. */
  async corruptArtifact(digest: string): Promise<() => Promise<void>> {
    const file = this.artifactFile(digest);
    const original = await readFile(file);
    const corrupted = Buffer.from(original);
    corrupted[corrupted.length >> 1] ^= 0xff;
    await writeFile(file, corrupted);
    return () => writeFile(file, original);
  }

  async stop(): Promise<void> {
    await this.app?.close();
    await closeEmbeddedDatabases();
    await this.db?.drop();
    if (this.modelsDir) await rm(this.modelsDir, { recursive: true, force: true });
  }
}

/**
 * A gateway for tests, loading from the given registry: quick retries, no periodic champion check unless `env` asks
 * for one, quiet logs; `env` adds or overrides variables.
 */
export function startTestGateway(
  registryUrl: string,
  bus: { amqpUrl?: string; namespace: string },
  env: Record<string, string> = {},
): Promise<NestFastifyApplication> {
  return startInferenceApp(
    InferenceConfig.load({
      AMQP_URL: bus.amqpUrl,
      SEPAL_NAMESPACE: bus.namespace,
      REGISTRY_URL: registryUrl,
      MODEL_RETRY_INTERVAL_MS: '100',
      MODEL_SYNC_INTERVAL_MS: '0',
      LOG_LEVEL: 'error',
      ...env,
    }),
    { listen: false },
  );
}
