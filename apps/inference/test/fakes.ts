import { createHash } from 'node:crypto';
import {
  encodeOnnxMetadata,
  type ModelPromoted,
  type ModelServed,
  type TrafficSplit,
} from '@sepal/contracts';
import type { EventBus } from '@sepal/messaging';
import { PredictionLog } from '../src/prediction-log/prediction-log.service';
import { exportDenseClassifierToOnnx, stackClassifiers } from '@sepal/ml';
import type { Counter } from 'prom-client';
import type { ModelInfo } from '../src/model/loading/loaded-model';
import { HealthRegistry } from '@sepal/observability';
import { DriftMonitors } from '../src/drift/drift-monitors.service';
import { InferenceConfig, InferenceConfigValues } from '../src/inference.config';
import { InferenceMetrics, ReloadResult, ServedReportResult } from '../src/metrics/inference-metrics.service';
import { ModelLoader } from '../src/model/loading/model-loader.service';
import { ChampionReloads } from '../src/model/updates/champion-reloads.service';
import { LoadedVersions } from '../src/model/catalog/loaded-versions.service';
import { ModelCatalog } from '../src/model/catalog/model-catalog.service';
import { ModelManager } from '../src/model/model-manager.service';
import { RegistrySync } from '../src/model/updates/registry-sync.service';
import { TrafficSplits } from '../src/model/updates/traffic-splits.service';
import { ModelRegistry, ModelSource, RegisteredModel } from '../src/model/registry/model-registry';
import { OnnxSession, OnnxSessions } from '../src/model/loading/onnx-sessions.service';
import { ServedPublisher } from '../src/model/updates/served-publisher.service';
import { ModelStacks } from '../src/stacking/model-stacks.service';
import { StackBuilder } from '../src/stacking/stack-builder.service';
import { ServedReporter } from '../src/model/updates/served-reporter.service';
import { PredictService } from '../src/predict/predict.service';

/** In-memory stand-ins for the gateway's ports, for the services' unit specs. */

export const MODEL = 'IrisModel';
export const FEATURES = ['petal_length', 'petal_width'];
export const LABELS = ['setosa', 'versicolor', 'virginica'];
export const RUN_ID = '3c1e6a8e-0d43-4a4b-9d0c-2f6f8d1e7b21';
export const DATASET_VERSION = 'd'.repeat(64);

export const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** What the gateway knows of a loaded version, for specs that need one without loading it; `over` replaces fields. */
export function modelInfo(over: Partial<ModelInfo> = {}): ModelInfo {
  return {
    name: 'M',
    version: 1,
    sha256: 'a'.repeat(64),
    runId: null,
    datasetVersion: null,
    size: 1,
    loadedAt: new Date(0).toISOString(),
    ...over,
  };
}

/**
 * A real ONNX artifact (the sessions are fake, the metadata is read for real). `metadata` replaces the metadata the
 * trainer would write, e.g. to break it; `tag` makes otherwise identical artifacts differ.
 */
export function artifact(options: { metadata?: Record<string, string>; tag?: number } = {}): Uint8Array {
  const tag = options.tag ?? 0;
  return exportDenseClassifierToOnnx(
    {
      featureNames: FEATURES,
      labels: LABELS,
      standardizer: { mean: [0, 0], std: [1, 1] },
      layers: [
        {
          inputs: 2,
          units: 3,
          activation: 'softmax',
          kernel: Float32Array.of(1, 0, -1, 0, 1, 0),
          bias: Float32Array.of(tag, 0, 0),
        },
      ],
    },
    options.metadata ??
      encodeOnnxMetadata({
        modelName: MODEL,
        labels: LABELS,
        featureNames: FEATURES,
        runId: RUN_ID,
        datasetVersion: DATASET_VERSION,
      }),
  );
}

/** The registry: artifacts by SHA-256 and the champion alias; `unreachable` makes every call fail. */
export class FakeModelRegistry extends ModelRegistry {
  readonly artifacts = new Map<string, Uint8Array>();
  championOf = new Map<string, ModelSource>();
  /** Every version added, by model name and version. */
  readonly versions = new Map<string, Map<number, ModelSource>>();
  trafficOf = new Map<string, TrafficSplit>();
  datasetOf = new Map<string, string>();
  unreachable = false;
  downloads: string[] = [];

  /** Stores an artifact as version `version` (content-addressed, like the registry) and returns its source. */
  add(version: number, bytes: Uint8Array = artifact({ tag: version }), model = MODEL): ModelSource {
    const digest = sha256(bytes);
    const source = { version, sha256: digest, runId: RUN_ID };
    this.artifacts.set(digest, bytes);
    if (!this.versions.has(model)) this.versions.set(model, new Map());
    this.versions.get(model)!.set(version, source);
    return source;
  }

  async models(): Promise<RegisteredModel[]> {
    this.check();
    const names = new Set([...this.versions.keys(), ...this.championOf.keys()]);
    return [...names].map((name) => ({ name, champion: this.championOf.get(name)?.version ?? null }));
  }

  async version(modelName: string, version: number): Promise<ModelSource | null> {
    this.check();
    return this.versions.get(modelName)?.get(version) ?? null;
  }

  async traffic(modelName: string): Promise<TrafficSplit | null> {
    this.check();
    return this.trafficOf.get(modelName) ?? null;
  }

  async dataset(modelName: string): Promise<string | null> {
    this.check();
    return this.datasetOf.get(modelName) ?? null;
  }

  promote(source: ModelSource, model = MODEL): void {
    this.championOf.set(model, source);
  }

  async champion(modelName: string): Promise<ModelSource | null> {
    this.check();
    return this.championOf.get(modelName) ?? null;
  }

  async download(sha256: string): Promise<Uint8Array> {
    this.check();
    this.downloads.push(sha256);
    const bytes = this.artifacts.get(sha256);
    if (!bytes) throw new Error(`registry: GET /artifacts/${sha256} answered 404: unknown artifact`);
    return bytes;
  }

  /** Sets the model's split as the registry would store it (the revision raised by each change). */
  setTraffic(
    weights: [version: number, weight: number][],
    shadow: number | null = null,
    model = MODEL,
  ): TrafficSplit {
    const ref = (version: number) => {
      const sha256 = this.versions.get(model)?.get(version)?.sha256 ?? 'f'.repeat(64);
      return { version, sha256, artifactUrl: `http://registry.test/artifacts/${sha256}` };
    };
    const split: TrafficSplit = {
      modelName: model,
      weights: weights.map(([version, weight]) => ({ ...ref(version), weight })),
      shadow: shadow === null ? null : ref(shadow),
      reason: 'test',
      changedBy: 'test',
      changedAt: new Date().toISOString(),
      revision: (this.trafficOf.get(model)?.revision ?? 0) + 1,
    };
    this.trafficOf.set(model, split);
    return split;
  }

  private check(): void {
    if (this.unreachable) throw new Error('registry: GET http://registry.test failed: connect ECONNREFUSED');
  }
}

/**
 * A session scoring rows of 2 features: the class is round(first feature) mod k, with probability 0.8 and the rest
 * shared by the other classes. `runs` records the rows of each run; `gate` holds runs until it resolves.
 */
export class FakeSession implements OnnxSession {
  runs: number[] = [];
  released = false;
  gate: Promise<void> | null = null;

  constructor(private readonly classes: number) {}

  async run(feeds: Parameters<OnnxSession['run']>[0]): ReturnType<OnnxSession['run']> {
    const input = feeds.features as unknown as { data: Float32Array; dims: readonly number[] };
    const rows = input.dims[0];
    this.runs.push(rows);
    if (this.gate) await this.gate;
    const k = this.classes;
    const probabilities = new Float32Array(rows * k).fill(0.2 / (k - 1));
    const labels = new BigInt64Array(rows);
    for (let i = 0; i < rows; i++) {
      const label = ((Math.round(input.data[i * input.dims[1]]) % k) + k) % k;
      probabilities[i * k + label] = 0.8;
      labels[i] = BigInt(label);
    }
    return { probabilities: { data: probabilities }, label: { data: labels } } as unknown as Awaited<
      ReturnType<OnnxSession['run']>
    >;
  }

  async release(): Promise<void> {
    this.released = true;
  }
}

/** Creates FakeSessions; `failure` makes the next creations throw (onnxruntime refusing the model). */
export class FakeOnnxSessions extends OnnxSessions {
  readonly created: FakeSession[] = [];
  failure: Error | null = null;
  classes = LABELS.length;

  async create(): Promise<OnnxSession> {
    if (this.failure) throw this.failure;
    const session = new FakeSession(this.classes);
    this.created.push(session);
    return session;
  }
}

/**
 * The bus as the served reporter sees it: `attempts` records every model.served with its message id, `published`
 * those accepted; `failure` makes publications fail (broker unreachable); `gate` holds them until it resolves.
 */
export class FakeServedPublisher extends ServedPublisher {
  readonly attempts: (ModelServed & { messageId: string })[] = [];
  readonly published: (ModelServed & { messageId: string })[] = [];
  failure: Error | null = null;
  gate: Promise<void> | null = null;

  async publish(served: ModelServed, messageId: string): Promise<void> {
    this.attempts.push({ ...served, messageId });
    if (this.gate) await this.gate;
    if (this.failure) throw this.failure;
    this.published.push({ ...served, messageId });
  }
}

/** Stacks in this thread: the worker's job without a worker thread (specs run the TypeScript sources). */
export class InlineStackBuilder extends StackBuilder {
  async stack(models: readonly Uint8Array[]): Promise<Uint8Array> {
    return stackClassifiers(models);
  }
}

/** The gateway's model services wired on the fakes (no Nest, no network, no onnxruntime session). */
export function fakeGateway(env: Record<string, string> = {}) {
  const config: InferenceConfigValues = InferenceConfig.load({
    MODEL_NAME: MODEL,
    REGISTRY_URL: 'http://registry.test',
    MODEL_SYNC_INTERVAL_MS: '0',
    MODEL_RETRY_INTERVAL_MS: '10',
    PREDICT_COALESCE: 'false',
    INFERENCE_REPLICA_ID: 'gw-test:3000',
    ...env,
  });
  const registry = new FakeModelRegistry();
  const sessions = new FakeOnnxSessions();
  const metrics = new InferenceMetrics();
  const bus = { publish: async () => 'id' } as unknown as EventBus;
  const health = new HealthRegistry();
  const loader = new ModelLoader(
    config,
    registry,
    sessions,
    metrics,
    new DriftMonitors(config, metrics, bus),
    new ModelStacks(config, sessions, metrics, new InlineStackBuilder()),
  );
  const publisher = new FakeServedPublisher();
  const reporter = new ServedReporter(config, publisher, metrics);
  const catalog = new ModelCatalog(config, metrics);
  const versions = new LoadedVersions(config, catalog, loader, registry, metrics);
  const reloads = new ChampionReloads(config, catalog, versions, loader, registry, metrics, reporter);
  const traffic = new TrafficSplits(versions, reloads, loader, registry, metrics);
  const sync = new RegistrySync(config, catalog, reloads, traffic, registry, metrics, reporter);
  const manager = new ModelManager(health, catalog, versions, sync);
  /** The default model's champion slot. */
  const holder = manager.defaultModel.champion;
  const predictionLog = new PredictionLog(config, bus);
  const predictions = new PredictService(config, manager, metrics, predictionLog);
  return {
    config,
    registry,
    sessions,
    metrics,
    predictionLog,
    health,
    holder,
    loader,
    publisher,
    reporter,
    manager,
    predictions,
  };
}

/** A model.promoted naming `source` as the champion at `promotedAt` (what the registry would announce, or a forgery). */
export function promoted(
  source: ModelSource,
  promotedAt: Date,
  overrides: Partial<ModelPromoted> = {},
): ModelPromoted {
  return {
    modelName: MODEL,
    alias: 'champion',
    version: source.version,
    sha256: source.sha256,
    artifactUrl: `http://registry.test/artifacts/${source.sha256}`,
    previousVersion: null,
    reason: 'test',
    promotedBy: 'test',
    promotedAt: promotedAt.toISOString(),
    ...overrides,
  };
}

async function countOf(counter: Counter<'result'>, result: string): Promise<number> {
  const { values } = await counter.get();
  return values.find((value) => value.labels.result === result)?.value ?? 0;
}

/** sepal_model_reloads_total{result} now (the counter is process-wide: compare before and after). */
export const reloads = (metrics: InferenceMetrics, result: ReloadResult): Promise<number> =>
  countOf(metrics.reloads, result);

/** sepal_model_served_reports_total{result} now (process-wide too). */
export const servedReports = (metrics: InferenceMetrics, result: ServedReportResult): Promise<number> =>
  countOf(metrics.servedReports, result);
