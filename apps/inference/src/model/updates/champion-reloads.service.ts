import { Inject, Injectable, Logger } from '@nestjs/common';
import { InferenceConfig, InferenceConfigValues } from '../../inference.config';
import { InferenceMetrics } from '../../metrics/inference-metrics.service';
import { LoadedModel } from '../loading/loaded-model';
import { LoadedVersions } from '../catalog/loaded-versions.service';
import { messageOf } from '../message-of';
import { ModelCatalog } from '../catalog/model-catalog.service';
import { ModelLoader } from '../loading/model-loader.service';
import { ModelRegistry, ModelSource } from '../registry/model-registry';
import { ReloadOutcome, ServedModel } from '../catalog/served-model';
import { ServedReporter } from './served-reporter.service';

/** What asked for a reload. */
export type Trigger = 'startup' | 'event' | 'admin' | 'sync';

/**
 * Swaps a model's champion for the registry's: loads it (verified and warmed; a loaded canary's session is reused),
 * looks up the dataset its feedback goes to, swaps it in atomically and announces it with model.served. A failure
 * leaves the current version serving; every outcome is counted and logged.
 */
@Injectable()
export class ChampionReloads {
  private readonly logger = new Logger('ModelManager');

  constructor(
    @Inject(InferenceConfig) private readonly config: InferenceConfigValues,
    private readonly catalog: ModelCatalog,
    private readonly versions: LoadedVersions,
    private readonly loader: ModelLoader,
    private readonly registry: ModelRegistry,
    private readonly metrics: InferenceMetrics,
    private readonly served: ServedReporter,
  ) {}

  /** Loads the registry's champion unless it is served (same version and SHA-256). */
  async follow(entry: ServedModel, trigger: Trigger): Promise<ReloadOutcome> {
    const now = entry.champion.model?.info ?? null;
    const source = await this.loader.champion(entry.name).catch((error: Error) => error);
    if (source instanceof Error) return this.failed(entry, source.message);
    if (source === null) {
      const reason = `the registry at ${this.config.REGISTRY_URL} has no champion for ${entry.name} yet`;
      if (!now) entry.problem = reason;
      return trigger === 'event' ? this.skipped(entry, reason) : { result: 'skipped', reason, model: now };
    }
    if (now && now.version === source.version && now.sha256 === source.sha256) {
      const reason = 'in step with the registry';
      return trigger === 'event' ? this.skipped(entry, reason) : { result: 'skipped', reason, model: now };
    }
    if (trigger === 'sync' && now) {
      this.logger.warn(
        `the registry's champion of ${entry.name} is v${source.version} (${source.sha256.slice(0, 12)}) while v${now.version} (${now.sha256.slice(0, 12)}) is served (a missed model.promoted?); loading it`,
      );
    }
    return this.load(entry, source, trigger);
  }

  /** POST /admin/reload: loads the registry's champion unless it is already served. */
  async reload(entry: ServedModel): Promise<ReloadOutcome> {
    const source = await this.loader.champion(entry.name).catch((error: Error) => error);
    if (source instanceof Error || source === null) {
      const reason = source === null ? `the registry has no champion for ${entry.name}` : source.message;
      return this.failed(entry, reason);
    }
    return this.load(entry, source, 'admin');
  }

  private async load(entry: ServedModel, source: ModelSource, trigger: Trigger): Promise<ReloadOutcome> {
    const current = entry.champion.model?.info ?? null;
    if (current && source.version === current.version && source.sha256 === current.sha256) {
      return this.skipped(entry, `version ${source.version} is already served`);
    }
    const started = Date.now();
    let next: LoadedModel;
    const other = entry.others.get(source.version);
    if (other && other.info.sha256 === source.sha256) {
      // Promoting the canary: its warmed session becomes the champion.
      entry.others.delete(source.version);
      this.versions.forget(entry, source.version);
      next = other;
    } else {
      try {
        next = await this.loader.load(entry.name, source);
      } catch (error) {
        return this.failed(entry, `cannot load ${entry.name} v${source.version}: ${messageOf(error)}`);
      }
    }
    // Looked up before the swap: feedback for a served model goes to its dataset, and in the window between a swap
    // and this answer it was refused with a 503 saying the registry had no lineage (fuzz seed 1014).
    if (entry.dataset === null) {
      entry.dataset = await this.registry.dataset(entry.name, next.info.version).catch(() => null);
    }
    if (this.catalog.stopped) {
      next.retire();
      return this.skipped(entry, 'the gateway is shutting down');
    }
    const previousModel = entry.champion.model;
    if (previousModel && entry.pinned.has(previousModel.info.version)) {
      // The split still names the previous champion: it keeps serving its share.
      entry.others.set(previousModel.info.version, previousModel);
      entry.champion.replace(next);
    } else {
      entry.champion.swap(next);
    }
    const previous = previousModel?.info ?? null;
    this.metrics.served(next.info, previous);
    this.metrics.reload('success');
    this.served.report(next.info);
    this.logger.log(
      `serving ${next.info.name} v${next.info.version} (${next.info.sha256.slice(0, 12)}, ${trigger}) after ${Date.now() - started} ms` +
        (previous ? `; v${previous.version} retired` : ''),
    );
    this.versions.evict();
    return { result: 'success', model: next.info, previous };
  }

  /** Counts and logs a reload that had nothing to do. */
  skipped(entry: ServedModel, reason: string): ReloadOutcome {
    this.metrics.reload('skipped');
    this.logger.log(`reload of ${entry.name} skipped: ${reason}`);
    return { result: 'skipped', reason, model: entry.champion.model?.info ?? null };
  }

  /** Counts and logs a reload that failed; the model's problem (503 reason) while it has no champion. */
  failed(entry: ServedModel, reason: string): ReloadOutcome {
    this.metrics.reload('failure');
    if (!entry.champion.model) entry.problem = reason;
    this.logger.error(
      `reload of ${entry.name} failed, ${entry.champion.model ? 'the current version keeps serving' : 'no version served'}: ${reason}`,
    );
    return { result: 'failure', reason, model: entry.champion.model?.info ?? null };
  }
}
