import { Inject, Injectable, Logger } from '@nestjs/common';
import { NotFoundError, UnavailableError } from '@sepal/contracts';
import { InferenceConfig, InferenceConfigValues } from '../../inference.config';
import { InferenceMetrics } from '../../metrics/inference-metrics.service';
import { LoadedModel } from '../loading/loaded-model';
import { messageOf } from '../message-of';
import { ModelCatalog } from './model-catalog.service';
import { ModelLoader } from '../loading/model-loader.service';
import { ModelRegistry, ModelSource } from '../registry/model-registry';
import { ServedModel } from './served-model';

/**
 * Versions other than the champions: loaded on demand (verified and warmed like a champion), at most
 * MAX_LOADED_MODELS in all; the least recently used on-demand version is unloaded first. Champions and the versions
 * a traffic split names are never unloaded.
 */
@Injectable()
export class LoadedVersions {
  private readonly logger = new Logger('ModelManager');
  /** On-demand versions, least recently used first (key `name\0version`). */
  private readonly lru = new Map<string, { entry: ServedModel; version: number }>();

  constructor(
    @Inject(InferenceConfig) private readonly config: InferenceConfigValues,
    private readonly catalog: ModelCatalog,
    private readonly loader: ModelLoader,
    private readonly registry: ModelRegistry,
    private readonly metrics: InferenceMetrics,
  ) {}

  /**
   * A given version of a model, held for the caller: the champion or another loaded version, else loaded now from
   * the registry (verified and warmed like a champion). 404 for an unknown model or version, 503 if it cannot load.
   */
  async requireVersion(name: string, version: number): Promise<LoadedModel> {
    const entry = this.catalog.find(name);
    const loaded = entry.loaded(version);
    if (loaded) {
      this.touch(entry, version);
      return loaded.acquire();
    }
    let loading = entry.loading.get(version);
    if (!loading) {
      loading = this.loadOnDemand(entry, version);
      entry.loading.set(version, loading);
      void loading.finally(() => entry.loading.delete(version)).catch(() => undefined);
    }
    const model = await loading;
    if (model.isReleased) return this.requireVersion(name, version);
    return model.acquire();
  }

  private async loadOnDemand(entry: ServedModel, version: number): Promise<LoadedModel> {
    let source: ModelSource | null;
    try {
      source = await this.registry.version(entry.name, version);
    } catch (error) {
      throw new UnavailableError(
        `cannot look up ${entry.name} v${version} in the registry: ${messageOf(error)}`,
        'Retry shortly.',
      );
    }
    if (!source) {
      throw new NotFoundError(
        `model '${entry.name}' has no version ${version}`,
        `GET /v2/models/${entry.name} lists the served one.`,
      );
    }
    let model: LoadedModel;
    try {
      model = await this.loader.load(entry.name, source);
    } catch (error) {
      this.metrics.reload('failure');
      throw new UnavailableError(
        `cannot load ${entry.name} v${version}: ${messageOf(error)}`,
        'Retry shortly.',
      );
    }
    const raced = entry.loaded(version);
    if (raced) {
      model.retire();
      return raced;
    }
    entry.others.set(version, model);
    this.touch(entry, version);
    this.logger.log(`loaded ${entry.name} v${version} on demand`);
    this.evict();
    return model;
  }

  /** Marks an on-demand version as just used (most recently used last). */
  touch(entry: ServedModel, version: number): void {
    if (entry.champion.model?.info.version === version || entry.pinned.has(version)) return;
    const key = `${entry.name}\0${version}`;
    this.lru.delete(key);
    this.lru.set(key, { entry, version });
  }

  /** Forgets a version that is no longer on demand (it became the champion). */
  forget(entry: ServedModel, version: number): void {
    this.lru.delete(`${entry.name}\0${version}`);
  }

  /** Unloads on-demand versions, least recently used first, while more than MAX_LOADED_MODELS are loaded. */
  evict(): void {
    let loaded = 0;
    for (const entry of this.catalog.models()) loaded += (entry.champion.model ? 1 : 0) + entry.others.size;
    for (const [key, { entry, version }] of this.lru) {
      if (loaded <= this.config.MAX_LOADED_MODELS) break;
      this.lru.delete(key);
      if (entry.pinned.has(version) || entry.champion.model?.info.version === version) continue;
      const model = entry.others.get(version);
      if (!model) continue;
      entry.others.delete(version);
      model.retire();
      loaded--;
      this.metrics.unloaded();
      this.logger.log(
        `unloaded ${entry.name} v${version} (least recently used; MAX_LOADED_MODELS=${this.config.MAX_LOADED_MODELS})`,
      );
    }
    if (loaded > this.config.MAX_LOADED_MODELS) {
      this.logger.warn(
        `${loaded} versions loaded, more than MAX_LOADED_MODELS=${this.config.MAX_LOADED_MODELS}: champions and split versions are never unloaded`,
      );
    }
  }
}
