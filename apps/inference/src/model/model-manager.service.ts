import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ModelPromoted, UnavailableError } from '@sepal/contracts';
import { HealthRegistry } from '@sepal/observability';
import { InferenceConfig, InferenceConfigValues } from '../inference.config';
import { InferenceMetrics } from '../metrics/inference-metrics';
import { LoadedModel, ModelInfo } from './loaded-model';
import { ModelHolder } from './model-holder';
import { ModelLoader } from './model-loader.service';
import { ModelSource } from './model-registry';
import { ServedReporter } from './served-reporter.service';

export type ReloadOutcome =
  | { result: 'success'; model: ModelInfo; previous: ModelInfo | null }
  | { result: 'skipped'; reason: string; model: ModelInfo | null }
  | { result: 'failure'; reason: string; model: ModelInfo | null };

/**
 * Loads the champion at start (retrying in the background until there is one) and on every model.promoted.
 * Reloads run one at a time and follow promotions in the order they were made (promotedAt), whatever the version
 * numbers: a rollback to an older version is served, and an event older than the latest promotion seen is skipped,
 * so two promotions in quick succession end with the later one served. A failure leaves the current model serving.
 * Each version swapped in is announced with model.served, in the background (see ServedReporter).
 */
@Injectable()
export class ModelManager implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('ModelManager');
  private queue: Promise<unknown> = Promise.resolve();
  /** When the latest promotion seen by an event was made (ms since the epoch). */
  private newestPromotionAt = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private syncTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private lastProblem = 'no champion loaded yet';

  constructor(
    @Inject(InferenceConfig) private readonly config: InferenceConfigValues,
    private readonly loader: ModelLoader,
    private readonly holder: ModelHolder,
    private readonly metrics: InferenceMetrics,
    private readonly health: HealthRegistry,
    private readonly served: ServedReporter,
  ) {}

  onApplicationBootstrap(): void {
    this.health.register('model', () => {
      const model = this.holder.model;
      if (!model) throw new Error(this.lastProblem);
      return `${model.info.name} v${model.info.version} (${model.info.sha256.slice(0, 12)})`;
    });
    void this.tryInitialLoad();
    if (this.config.MODEL_SYNC_INTERVAL_MS > 0) {
      this.syncTimer = setInterval(() => void this.syncWithRegistry(), this.config.MODEL_SYNC_INTERVAL_MS);
      this.syncTimer.unref();
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.syncTimer) clearInterval(this.syncTimer);
    await this.queue.catch(() => undefined);
    this.holder.clear();
  }

  /** The model in service, or a 503 saying why there is none. */
  requireModel(): LoadedModel {
    const model = this.holder.acquire();
    if (!model) {
      throw new UnavailableError(
        `no model is being served yet: ${this.lastProblem}`,
        `The gateway loads the champion of '${this.config.MODEL_NAME}' from ${this.config.REGISTRY_URL} as soon as there is one; promote a version or retry shortly.`,
      );
    }
    return model;
  }

  /** Handles model.promoted: queued behind any reload in progress. */
  onPromoted(event: ModelPromoted): Promise<ReloadOutcome> {
    if (event.modelName !== this.config.MODEL_NAME || event.alias !== 'champion') {
      return Promise.resolve({
        result: 'skipped',
        reason: `not the champion of ${this.config.MODEL_NAME}`,
        model: this.holder.model?.info ?? null,
      });
    }
    const promotedAt = Date.parse(event.promotedAt);
    if (promotedAt < this.newestPromotionAt) {
      return Promise.resolve(
        this.skipped(`the promotion of v${event.version} was superseded by a later one`),
      );
    }
    this.newestPromotionAt = promotedAt;
    return this.enqueue(() => {
      if (promotedAt < this.newestPromotionAt) {
        return Promise.resolve(
          this.skipped(`the promotion of v${event.version} was superseded by a later one`),
        );
      }
      return this.load(
        { version: event.version, sha256: event.sha256, artifactUrl: event.artifactUrl },
        'event',
      );
    });
  }

  /** POST /admin/reload: asks the registry for the champion now and loads it unless it is already served. */
  reloadChampion(): Promise<ReloadOutcome> {
    this.served.retryUnannounced();
    return this.enqueue(async () => {
      const source = await this.loader.champion().catch((error: Error) => error);
      if (source instanceof Error || source === null) {
        const reason =
          source === null ? `the registry has no champion for ${this.config.MODEL_NAME}` : source.message;
        return this.failed(reason);
      }
      return this.load(source, 'admin');
    });
  }

  /**
   * Loads the registry's champion when it differs from the model served (a model.promoted missed while the broker
   * was unreachable, for example); silent while both agree or the registry cannot be asked.
   */
  async syncWithRegistry(): Promise<ReloadOutcome | null> {
    if (this.stopped || !this.holder.model) return null;
    this.served.retryUnannounced();
    return this.enqueue(async () => {
      const current = this.holder.model?.info ?? null;
      const source = await this.loader.champion().catch(() => null);
      if (!source || !current || (source.version === current.version && source.sha256 === current.sha256)) {
        return { result: 'skipped', reason: 'in step with the registry', model: current };
      }
      this.logger.warn(
        `the registry's champion is v${source.version} while v${current.version} is served (a missed model.promoted?); loading it`,
      );
      return this.load(source, 'sync');
    });
  }

  private enqueue(task: () => Promise<ReloadOutcome>): Promise<ReloadOutcome> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async tryInitialLoad(): Promise<void> {
    if (this.stopped || this.holder.model) return;
    const outcome = await this.enqueue(async () => {
      if (this.holder.model) return this.skipped('a model is already served');
      const source = await this.loader.champion().catch((error: Error) => error);
      if (source instanceof Error) return this.failed(source.message);
      if (source === null) {
        this.lastProblem = `the registry at ${this.config.REGISTRY_URL} has no champion for ${this.config.MODEL_NAME} yet`;
        return { result: 'skipped' as const, reason: this.lastProblem, model: null };
      }
      return this.load(source, 'startup');
    });
    if (!this.holder.model && !this.stopped) {
      this.logger.warn(
        `${outcome.result === 'failure' ? outcome.reason : this.lastProblem}; retrying in ${this.config.MODEL_RETRY_INTERVAL_MS} ms`,
      );
      this.retryTimer = setTimeout(() => void this.tryInitialLoad(), this.config.MODEL_RETRY_INTERVAL_MS);
      this.retryTimer.unref();
    }
  }

  private async load(
    source: ModelSource,
    trigger: 'startup' | 'event' | 'admin' | 'sync',
  ): Promise<ReloadOutcome> {
    const current = this.holder.model?.info ?? null;
    if (current && source.version === current.version && source.sha256 === current.sha256) {
      return this.skipped(`version ${source.version} is already served`);
    }
    const started = Date.now();
    let next: LoadedModel;
    try {
      next = await this.loader.load(source);
    } catch (error) {
      return this.failed(
        `cannot load ${this.config.MODEL_NAME} v${source.version}: ${(error as Error).message}`,
      );
    }
    if (this.stopped) {
      next.retire();
      return this.skipped('the gateway is shutting down');
    }
    const previous = this.holder.swap(next)?.info ?? null;
    this.metrics.served(next.info, previous);
    this.metrics.reload('success');
    this.served.report(next.info);
    this.logger.log(
      `serving ${next.info.name} v${next.info.version} (${next.info.sha256.slice(0, 12)}, ${trigger}) after ${Date.now() - started} ms` +
        (previous ? `; v${previous.version} retired` : ''),
    );
    return { result: 'success', model: next.info, previous };
  }

  private skipped(reason: string): ReloadOutcome {
    this.metrics.reload('skipped');
    this.logger.log(`reload skipped: ${reason}`);
    return { result: 'skipped', reason, model: this.holder.model?.info ?? null };
  }

  private failed(reason: string): ReloadOutcome {
    this.metrics.reload('failure');
    if (!this.holder.model) this.lastProblem = reason;
    this.logger.error(
      `reload failed, ${this.holder.model ? 'the current model keeps serving' : 'no model served'}: ${reason}`,
    );
    return { result: 'failure', reason, model: this.holder.model?.info ?? null };
  }
}
