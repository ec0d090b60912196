import { Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { InvalidInputError, ModelPromoted, TrafficSplit } from '@sepal/contracts';
import { HealthRegistry } from '@sepal/observability';
import { ModelRequests } from '../metrics/inference-metrics.service';
import { LoadedModel } from './loading/loaded-model';
import { LoadedVersions } from './catalog/loaded-versions.service';
import { ModelCatalog } from './catalog/model-catalog.service';
import { RegistrySync } from './updates/registry-sync.service';
import { repositoryIndex, RepositoryEntry } from './catalog/repository-index';
import { ReloadOutcome, ServedModel } from './catalog/served-model';

export type { RegistryCheck, ReloadOutcome } from './catalog/served-model';
export type { RepositoryEntry } from './catalog/repository-index';

/**
 * Serves the champion of every registered model (SERVE_MODELS=*) or of a listed set: the one door the controllers,
 * consumers and predictions use. The work is done by one service per concern: the catalog of served models
 * (ModelCatalog), the versions loaded besides the champions and their LRU (LoadedVersions), following the registry
 * on start, on events and periodically (RegistrySync, with ChampionReloads and TrafficSplits), and the OIP index.
 * An event is news, not an instruction: the registry's answer is served, so a forged or stale event changes nothing.
 * A failure leaves that model's current version serving. Each swap is announced with model.served (ServedReporter).
 */
@Injectable()
export class ModelManager implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(
    private readonly health: HealthRegistry,
    private readonly catalog: ModelCatalog,
    private readonly versions: LoadedVersions,
    private readonly sync: RegistrySync,
  ) {}

  /** The default model's entry (POST /predict): the hot path reads it without a lookup. */
  get defaultModel(): ServedModel {
    return this.catalog.defaultModel;
  }

  onApplicationBootstrap(): void {
    this.health.register('model', () => this.catalog.healthDetail());
    this.sync.start();
  }

  async onApplicationShutdown(): Promise<void> {
    this.sync.stop();
    await this.catalog.close();
  }

  /** Whether this gateway serves `name` (SERVE_MODELS). */
  serves(name: string): boolean {
    return this.catalog.serves(name);
  }

  /** The models this gateway knows, by name. */
  models(): IterableIterator<ServedModel> {
    return this.catalog.models();
  }

  /** The request metrics of a prediction of `name` (the default model when undefined); null if not served. */
  requestsOf(name: string | undefined): ModelRequests | null {
    return this.catalog.requestsOf(name);
  }

  /** The entry of a served model, or 404 naming it. */
  find(name: string): ServedModel {
    return this.catalog.find(name);
  }

  /** The version serving one request of `name` (default model when omitted), held; 404 or 503 saying why not. */
  requireModel(name?: string): LoadedModel {
    return this.catalog.requireModel(name);
  }

  /** The shadow of the model that `served` belongs to, if any (constant time). */
  shadowOf(served: LoadedModel): { model: LoadedModel; entry: ServedModel } | null {
    return this.catalog.shadowOf(served);
  }

  /** A given version of a model, held for the caller, loaded on demand if need be (LoadedVersions). */
  requireVersion(name: string, version: number): Promise<LoadedModel> {
    return this.versions.requireVersion(name, version);
  }

  /** The model repository index (OIP): every model's served versions and their state. */
  repositoryIndex(): RepositoryEntry[] {
    return repositoryIndex(this.catalog.models());
  }

  /** model.promoted: the registry's champion of `modelName` is re-read and served (RegistrySync). */
  onPromoted(
    event: Pick<ModelPromoted, 'modelName' | 'alias' | 'version' | 'sha256'>,
  ): Promise<ReloadOutcome> {
    return this.sync.onPromoted(event);
  }

  /** model.traffic: the registry's split of `modelName` is re-read and applied (RegistrySync). */
  onTraffic(event: Pick<TrafficSplit, 'modelName'>): Promise<ReloadOutcome> {
    return this.sync.onTraffic(event);
  }

  /** POST /admin/reload: asks the registry for a model's champion now and loads it unless it is already served. */
  reloadChampion(name?: string): Promise<ReloadOutcome> {
    return this.sync.reloadChampion(name);
  }

  /** Loads every registry champion (and split) that differs from what is served. */
  syncWithRegistry(): Promise<ReloadOutcome | null> {
    return this.sync.syncWithRegistry();
  }
}

/** Parses a version path parameter: a positive integer, else 400 naming it. */
export function parseVersion(value: string): number {
  const version = /^[1-9][0-9]{0,8}$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(version)) {
    throw new InvalidInputError(`version: must be a positive integer, got ${JSON.stringify(value)}`);
  }
  return version;
}
