import { Inject, Injectable, Logger } from '@nestjs/common';
import { ModelPromoted, TrafficSplit } from '@sepal/contracts';
import { InferenceConfig, InferenceConfigValues } from '../../inference.config';
import { InferenceMetrics } from '../../metrics/inference-metrics.service';
import { ChampionReloads, Trigger } from './champion-reloads.service';
import { messageOf } from '../message-of';
import { ModelCatalog } from '../catalog/model-catalog.service';
import { ModelRegistry, RegisteredModel } from '../registry/model-registry';
import { RegistryCheck, ReloadOutcome, ServedModel } from '../catalog/served-model';
import { ServedReporter } from './served-reporter.service';
import { TrafficSplits } from './traffic-splits.service';

/**
 * Keeps every served model in step with the registry. At start it lists the registry's models and loads their
 * champions (retrying in the background while the default model has none). An event is news, not an instruction:
 * model.promoted and model.traffic only make the gateway re-read that model's champion and traffic split from the
 * registry and act on the registry's answer. The periodic sync compares the registry's version, SHA-256 and traffic
 * revision with what is served. Each model's re-reads and reloads run one at a time.
 */
@Injectable()
export class RegistrySync {
  private readonly logger = new Logger('ModelManager');
  private retryTimer: NodeJS.Timeout | null = null;
  private syncTimer: NodeJS.Timeout | null = null;

  constructor(
    @Inject(InferenceConfig) private readonly config: InferenceConfigValues,
    private readonly catalog: ModelCatalog,
    private readonly reloads: ChampionReloads,
    private readonly traffic: TrafficSplits,
    private readonly registry: ModelRegistry,
    private readonly metrics: InferenceMetrics,
    private readonly served: ServedReporter,
  ) {}

  /** Starts the initial load (and its retries) and the periodic sync (MODEL_SYNC_INTERVAL_MS). */
  start(): void {
    void this.tryInitialLoad();
    if (this.config.MODEL_SYNC_INTERVAL_MS > 0) {
      this.syncTimer = setInterval(() => void this.syncWithRegistry(), this.config.MODEL_SYNC_INTERVAL_MS);
      this.syncTimer.unref();
    }
  }

  /** Stops the retries and the periodic sync. */
  stop(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.syncTimer) clearInterval(this.syncTimer);
  }

  /**
   * model.promoted: a hint that the champion of `modelName` may have moved. Only the model's name (and that it is a
   * champion move) is read; the registry is asked for the champion and its split, and its answer is served.
   */
  async onPromoted(
    event: Pick<ModelPromoted, 'modelName' | 'alias' | 'version' | 'sha256'>,
  ): Promise<ReloadOutcome> {
    if (event.alias !== 'champion' || !this.catalog.serves(event.modelName)) {
      return {
        result: 'skipped',
        reason:
          event.alias !== 'champion' ? `not a champion move` : `${event.modelName} is not in SERVE_MODELS`,
        model: this.catalog.get(event.modelName)?.champion.model?.info ?? null,
      };
    }
    const { champion } = await this.recheck(this.catalog.entry(event.modelName), 'event');
    const served = this.catalog.get(event.modelName)?.champion.model?.info ?? null;
    if (served && (served.version !== event.version || served.sha256 !== event.sha256)) {
      this.logger.warn(
        `model.promoted named ${event.modelName} v${event.version} (${event.sha256.slice(0, 12)}); the registry's champion is v${served.version} (${served.sha256.slice(0, 12)}), which is served`,
      );
    }
    return champion;
  }

  /** model.traffic: a hint that the split of `modelName` may have changed; the registry's split is applied. */
  async onTraffic(event: Pick<TrafficSplit, 'modelName'>): Promise<ReloadOutcome> {
    if (!this.catalog.serves(event.modelName)) {
      return { result: 'skipped', reason: `${event.modelName} is not in SERVE_MODELS`, model: null };
    }
    const entry = this.catalog.entry(event.modelName);
    const { traffic } = await this.recheck(entry, 'event');
    return (
      traffic ?? {
        result: 'skipped',
        reason: `the registry has no traffic split for ${entry.name}`,
        model: entry.champion.model?.info ?? null,
      }
    );
  }

  /** POST /admin/reload: asks the registry for a model's champion now and loads it unless it is already served. */
  reloadChampion(name: string = this.config.MODEL_NAME): Promise<ReloadOutcome> {
    this.served.retryUnannounced();
    const entry = this.catalog.find(name);
    return this.enqueue(entry, () => this.reloads.reload(entry));
  }

  /**
   * Loads every registry champion that differs from the version served (a model.promoted missed while the broker
   * was unreachable, or a model promoted before this replica subscribed), and the traffic splits; silent while all
   * agree or the registry cannot be asked.
   */
  async syncWithRegistry(): Promise<ReloadOutcome | null> {
    if (this.catalog.stopped) return null;
    this.served.retryUnannounced();
    const outcomes = await this.refresh('sync');
    return outcomes.get(this.catalog.defaultModel.name) ?? null;
  }

  /**
   * Re-reads a model's champion and traffic split from the registry, queued behind the model's reloads; a re-read
   * already queued and not started is shared (a burst of events, forged or not, costs one).
   */
  private recheck(entry: ServedModel, trigger: Trigger): Promise<RegistryCheck> {
    if (entry.pendingRecheck) return entry.pendingRecheck;
    const check = this.enqueue(entry, () => {
      entry.pendingRecheck = null;
      return this.followRegistry(entry, trigger);
    });
    entry.pendingRecheck = check;
    return check;
  }

  private async followRegistry(entry: ServedModel, trigger: Trigger): Promise<RegistryCheck> {
    const champion = await this.reloads.follow(entry, trigger);
    const traffic = await this.traffic.follow(entry);
    return { champion, traffic };
  }

  private enqueue<T>(entry: ServedModel, task: () => Promise<T>): Promise<T> {
    const run = entry.queue.then(task, task);
    entry.queue = run.catch(() => undefined);
    return run;
  }

  /** Lists the registry's models and loads each served model's champion (and split) where it differs. */
  private async refresh(trigger: 'startup' | 'sync'): Promise<Map<string, ReloadOutcome>> {
    const outcomes = new Map<string, ReloadOutcome>();
    let registered: RegisteredModel[];
    try {
      registered = await this.registry.models();
    } catch (error) {
      for (const entry of this.catalog.models()) {
        if (!entry.champion.model)
          entry.problem = `cannot look up the champion of ${entry.name}: ${messageOf(error)}`;
      }
      if (trigger === 'startup') this.metrics.reload('failure');
      return outcomes;
    }
    const byName = new Map(registered.map((model) => [model.name, model]));
    if (this.config.SERVE_MODELS === '*') for (const model of registered) this.catalog.entry(model.name);
    await Promise.all(
      [...this.catalog.models()].map(async (entry) => {
        if ((byName.get(entry.name)?.champion ?? null) === null) {
          if (!entry.champion.model)
            entry.problem = `the registry at ${this.config.REGISTRY_URL} has no champion for ${entry.name} yet`;
          return;
        }
        // The listing only says which models have a champion: the version, its SHA-256 and the split's revision are
        // read for each and compared with what is served.
        outcomes.set(entry.name, (await this.recheck(entry, trigger)).champion);
      }),
    );
    return outcomes;
  }

  /** At start, and again every MODEL_RETRY_INTERVAL_MS while the default model (or a listed one) has no champion. */
  private async tryInitialLoad(): Promise<void> {
    if (this.catalog.stopped) return;
    await this.refresh('startup');
    const waiting = [...this.catalog.models()].filter(
      (entry) =>
        !entry.champion.model && (entry === this.catalog.defaultModel || this.config.SERVE_MODELS !== '*'),
    );
    if (waiting.length > 0 && !this.catalog.stopped) {
      this.logger.warn(
        `${waiting.map((entry) => entry.problem).join('; ')}; retrying in ${this.config.MODEL_RETRY_INTERVAL_MS} ms`,
      );
      this.retryTimer = setTimeout(() => void this.tryInitialLoad(), this.config.MODEL_RETRY_INTERVAL_MS);
      this.retryTimer.unref();
    }
  }
}
