import type {
  ArtifactView,
  EventEnvelope,
  EventName,
  ModelVersionView,
  RunPage,
  RunView,
  ModelGate,
} from '@sepal/contracts';
import { ServiceCallError } from '@sepal/http-client';
import { EventBus, type DeadLetter, type Subscription } from '@sepal/messaging';
import { createHash } from 'node:crypto';
import type { DatasetVersionInfo, SplitImages, SplitRows } from '../../src/clients/data-client';
import type { ChampionView } from '../../src/clients/registry-client';
import type { RunSearch } from '../../src/jobs/job-runner.service';
import type { DatasetReader, ModelRegistry } from '../../src/pipeline/pipeline-ports';

/**
 * The error the service clients throw: `status` null when the service could not be reached. The only place the
 * specs make one, so a change of the clients' error touches this function only.
 */
export function serviceError(service: string, status: number | null, message: string): ServiceCallError {
  return new ServiceCallError(service, 'GET', `http://${service}.test/`, status, message);
}

/** A dataset version as the data service answers it, for a classification dataset with these features and labels. */
export function datasetVersion(
  fields: Pick<DatasetVersionInfo, 'id' | 'seq'> & { features: string[]; labels: string[]; rows: number },
): DatasetVersionInfo {
  return {
    id: fields.id,
    dataset: 'iris',
    seq: fields.seq,
    parentId: null,
    reason: 'import',
    schema: { features: fields.features, target: 'class', task: 'classification', labels: fields.labels },
    rowCount: fields.rows,
    trainRows: Math.round(fields.rows * 0.8),
    testRows: fields.rows - Math.round(fields.rows * 0.8),
    classCounts: { train: {}, test: {} },
    cleaningRules: [],
    splitPolicy: { testFraction: 0.2, seed: 1, method: 'test' },
    source: {},
    createdAt: new Date().toISOString(),
  };
}

/** Keeps what is published, validated against the contracts like the real buses do; consumes nothing. */
export class RecordingEventBus extends EventBus {
  readonly envelopes: EventEnvelope[] = [];
  /** Makes publishing fail, e.g. to play a broker that is down. */
  failure: Error | undefined;

  of<N extends EventName>(type: N): EventEnvelope<N>[] {
    return this.envelopes.filter((envelope): envelope is EventEnvelope<N> => envelope.type === type);
  }

  isConnected(): boolean {
    return true;
  }

  async subscribe(): Promise<Subscription> {
    throw new Error('RecordingEventBus does not consume');
  }

  async deadLetters(): Promise<DeadLetter[]> {
    return [];
  }

  async deadLetterCount(): Promise<number> {
    return 0;
  }

  async close(): Promise<void> {}

  protected async sendEnvelope(envelope: EventEnvelope): Promise<void> {
    if (this.failure) throw this.failure;
    this.envelopes.push(envelope);
  }
}

export interface StoredDataset {
  version: DatasetVersionInfo;
  train: SplitRows;
  test: SplitRows;
  /** An image dataset's splits as its binary pages decode (its `train` and `test` rows then hold the classes). */
  images?: { train: SplitImages; test: SplitImages };
}

/** The data service's versions and splits, in memory; an unknown dataset or version answers 404 as the service does. */
export class InMemoryDatasets implements DatasetReader {
  readonly reads: string[] = [];

  constructor(private readonly datasets: Record<string, StoredDataset>) {}

  async version(dataset: string, ref = 'latest'): Promise<DatasetVersionInfo> {
    const stored = this.datasets[dataset];
    if (!stored) throw serviceError('data service', 404, `dataset '${dataset}' not found`);
    const { version } = stored;
    if (ref !== 'latest' && ref !== `v${version.seq}` && !version.id.startsWith(ref)) {
      throw serviceError('data service', 404, `version '${ref}' of '${dataset}' not found`);
    }
    return version;
  }

  async rows(dataset: string, version: string, split: 'train' | 'test'): Promise<SplitRows> {
    this.reads.push(`${dataset}@${version.slice(0, 12)}:${split}`);
    const stored = this.datasets[dataset];
    if (!stored || stored.version.id !== version) {
      throw serviceError('data service', 404, `version '${version}' of '${dataset}' not found`);
    }
    return stored[split];
  }

  async images(dataset: string, version: string, split: 'train' | 'test'): Promise<SplitImages> {
    this.reads.push(`${dataset}@${version.slice(0, 12)}:${split}:images`);
    const stored = this.datasets[dataset];
    if (!stored || stored.version.id !== version || !stored.images) {
      throw serviceError('data service', 404, `image version '${version}' of '${dataset}' not found`);
    }
    return stored.images[split];
  }
}

type RegistryMethod = keyof ModelRegistry | 'searchRuns';

/** The registry's artifacts, versions, aliases and runs, in memory. `failures` makes a method throw. */
export class InMemoryRegistry implements ModelRegistry, RunSearch {
  readonly artifacts = new Map<string, Uint8Array>();
  readonly versions: ModelVersionView[] = [];
  readonly aliases = new Map<string, number>();
  readonly aliasChanges: { model: string; alias: string; version: number; reason: string }[] = [];
  readonly runs: RunView[] = [];
  readonly failures: Partial<Record<RegistryMethod, Error>> = {};
  /** Per model, its own promotion gate (absent: the task's defaults). */
  readonly gates = new Map<string, ModelGate>();

  async gate(model: string): Promise<ModelGate | null> {
    return this.gates.get(model) ?? null;
  }

  async uploadArtifact(bytes: Uint8Array, sha256: string): Promise<ArtifactView> {
    this.failIfAsked('uploadArtifact');
    if (createHash('sha256').update(bytes).digest('hex') !== sha256) throw new Error('SHA-256 mismatch');
    this.artifacts.set(sha256, bytes);
    return { sha256, size: bytes.length, url: `http://registry.test/artifacts/${sha256}` };
  }

  async registerVersion(
    model: string,
    body: Parameters<ModelRegistry['registerVersion']>[1],
  ): Promise<ModelVersionView> {
    this.failIfAsked('registerVersion');
    const registered: ModelVersionView = {
      name: model,
      version: this.versions.filter((version) => version.name === model).length + 1,
      runId: body.runId,
      sha256: body.sha256,
      size: this.artifacts.get(body.sha256)?.length ?? null,
      artifactUrl: `http://registry.test/artifacts/${body.sha256}`,
      signature: body.signature ?? null,
      metrics: body.metrics ?? {},
      description: body.description ?? null,
      createdAt: new Date().toISOString(),
    };
    this.versions.push(registered);
    return registered;
  }

  async champion(model: string): Promise<ChampionView | null> {
    this.failIfAsked('champion');
    const version = this.aliases.get(`${model}:champion`);
    const found = this.versions.find((v) => v.name === model && v.version === version);
    return found ? { ...found, alias: 'champion' } : null;
  }

  async downloadArtifact(sha256: string): Promise<Uint8Array> {
    this.failIfAsked('downloadArtifact');
    const bytes = this.artifacts.get(sha256);
    if (!bytes) throw serviceError('registry', 404, `artifact ${sha256}: HTTP 404`);
    return bytes;
  }

  async setAlias(model: string, alias: string, body: { version: number; reason: string }): Promise<unknown> {
    this.failIfAsked('setAlias');
    this.aliases.set(`${model}:${alias}`, body.version);
    this.aliasChanges.push({ model, alias, ...body });
    return { alias, version: body.version };
  }

  /** Answers the stored runs whose tags.job_id (or parent) the query names; the rest of a filter is not parsed. */
  async searchRuns(query: { filter?: string; parentRunId?: string; limit?: number }): Promise<RunPage> {
    this.failIfAsked('searchRuns');
    const jobId = /tags\.job_id = '([^']*)'/.exec(query.filter ?? '')?.[1];
    const runningOnly = /status = 'running'/.test(query.filter ?? '');
    const runs = this.runs.filter(
      (run) =>
        (jobId === undefined || run.tags.job_id === jobId) &&
        (query.parentRunId === undefined || run.parentRunId === query.parentRunId) &&
        (!runningOnly || run.status === 'running'),
    );
    return { runs, nextPageToken: null };
  }

  private failIfAsked(method: RegistryMethod): void {
    const failure = this.failures[method];
    if (failure) throw failure;
  }
}

/** A run as the registry would answer it, for searchRuns. */
export function runView(fields: Partial<RunView> & Pick<RunView, 'id'>): RunView {
  return {
    experimentId: 'e',
    experiment: 'iris',
    parentRunId: null,
    name: null,
    status: 'finished',
    startTime: new Date().toISOString(),
    endTime: null,
    params: {},
    tags: {},
    dataset: 'iris',
    datasetVersion: null,
    backend: null,
    correlationId: null,
    error: null,
    metrics: {},
    childrenCount: 0,
    ...fields,
  };
}
