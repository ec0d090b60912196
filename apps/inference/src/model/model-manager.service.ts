import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import {
  InvalidInputError,
  ModelPromoted,
  NotFoundError,
  TrafficSplit,
  UnavailableError,
} from '@sepal/contracts';
import { HealthRegistry } from '@sepal/observability';
import { InferenceConfig, InferenceConfigValues } from '../inference.config';
import { InferenceMetrics, ModelRequests } from '../metrics/inference-metrics';
import { LoadedModel, ModelInfo } from './loaded-model';
import { ModelLoader } from './model-loader.service';
import { ModelRegistry, ModelSource, RegisteredModel } from './model-registry';
import { RegistryCheck, ReloadOutcome, ServedModel, SplitEntry } from './served-model';
import { ServedReporter } from './served-reporter.service';

export type { RegistryCheck, ReloadOutcome } from './served-model';

type Trigger = 'startup' | 'event' | 'admin' | 'sync';

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** One entry of POST /v2/repository/index. */
export interface RepositoryEntry {
  name: string;
  version: string;
  state: 'READY' | 'UNAVAILABLE';
  reason: string;
}

/**
 * Serves the champion of every registered model (SERVE_MODELS=*) or of a listed set. At start it lists the
 * registry's models and loads their champions (retrying in the background while the default model has none).
 * An event is news, not an instruction: model.promoted and model.traffic only make the gateway re-read that model's
 * champion and traffic split from the registry (over its authenticated client) and act on the registry's answer; the
 * version, digest, URL and time the event carries decide nothing, so a forged or stale event changes nothing. The
 * periodic sync compares the registry's version, SHA-256 and traffic revision with what is served. Each model's
 * re-reads and reloads run one at a time. A failure leaves that model's current version serving. Each swap is announced with
 * model.served (ServedReporter). Versions other than the champions (canary, shadow, on demand) are loaded too, at
 * most MAX_LOADED_MODELS in all: the least recently used on-demand version is unloaded first.
 */
@Injectable()
export class ModelManager implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('ModelManager');
  private readonly entries = new Map<string, ServedModel>();
  /** On-demand versions, least recently used first (key `name\0version`). */
  private readonly lru = new Map<string, { entry: ServedModel; version: number }>();
  private retryTimer: NodeJS.Timeout | null = null;
  private syncTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  /** The default model's entry (POST /predict): the hot path reads it without a lookup. */
  readonly defaultModel: ServedModel;

  constructor(
    @Inject(InferenceConfig) private readonly config: InferenceConfigValues,
    private readonly loader: ModelLoader,
    private readonly registry: ModelRegistry,
    private readonly metrics: InferenceMetrics,
    private readonly health: HealthRegistry,
    private readonly served: ServedReporter,
  ) {
    this.defaultModel = new ServedModel(config.MODEL_NAME, metrics.requestsOf(config.MODEL_NAME));
    this.entries.set(config.MODEL_NAME, this.defaultModel);
    if (config.SERVE_MODELS !== '*') for (const name of config.SERVE_MODELS) this.entry(name);
    metrics.watchCatalog(() => this.entries.values());
  }

  onApplicationBootstrap(): void {
    this.health.register('model', () => {
      const model = this.defaultModel.champion.model;
      if (!model) throw new Error(this.defaultModel.problem);
      const others = [...this.entries.values()].filter((e) => e !== this.defaultModel && e.champion.model);
      return (
        `${model.info.name} v${model.info.version} (${model.info.sha256.slice(0, 12)})` +
        (others.length ? ` and ${others.length} other model(s)` : '')
      );
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
    await Promise.all([...this.entries.values()].map((entry) => entry.queue.catch(() => undefined)));
    for (const entry of this.entries.values()) {
      entry.champion.clear();
      for (const model of entry.others.values()) model.retire();
      entry.others.clear();
    }
  }

  /** Whether this gateway serves `name` (SERVE_MODELS). */
  serves(name: string): boolean {
    return (
      this.config.SERVE_MODELS === '*' ||
      this.config.SERVE_MODELS.includes(name) ||
      name === this.config.MODEL_NAME
    );
  }

  /** The models this gateway knows, by name. */
  models(): IterableIterator<ServedModel> {
    return this.entries.values();
  }

  /**
   * The request metrics of a prediction of `name` (the default model when undefined); null for a name this gateway
   * does not serve, so unknown names never create series. One map lookup.
   */
  requestsOf(name: string | undefined): ModelRequests | null {
    if (name === undefined) return this.defaultModel.requests;
    return this.entries.get(name)?.requests ?? null;
  }

  /** The entry of a served model, or 404 naming it. */
  find(name: string): ServedModel {
    const entry = this.entries.get(name);
    if (entry) return entry;
    const served = [...this.entries.keys()].join(', ');
    throw new NotFoundError(
      `unknown model '${name}'; this gateway serves ${served ? `'${served.split(', ').join("', '")}'` : 'no model yet'}`,
      this.config.SERVE_MODELS === '*'
        ? 'Register the model in the registry and promote a version; the gateway serves it at once.'
        : 'Add it to SERVE_MODELS.',
    );
  }

  /** The version serving one request of `name` (default model when omitted), held; 404 or 503 saying why not. */
  requireModel(name?: string): LoadedModel {
    const entry = name === undefined ? this.defaultModel : this.find(name);
    const model = entry.acquireServing();
    if (!model) {
      throw new UnavailableError(
        `no model is being served yet: ${entry.problem}`,
        `The gateway loads the champion of '${entry.name}' from ${this.config.REGISTRY_URL} as soon as there is one; promote a version or retry shortly.`,
      );
    }
    return model;
  }

  /** The shadow of the model that `served` belongs to, if any (constant time). */
  shadowOf(served: LoadedModel): { model: LoadedModel; entry: ServedModel } | null {
    const entry = this.entries.get(served.info.name);
    const shadow = entry?.shadow;
    return shadow && shadow !== served && entry ? { model: shadow, entry } : null;
  }

  /**
   * A given version of a model, held for the caller: the champion or another loaded version, else loaded now from
   * the registry (verified and warmed like a champion). 404 for an unknown model or version, 503 if it cannot load.
   */
  async requireVersion(name: string, version: number): Promise<LoadedModel> {
    const entry = this.find(name);
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
  private touch(entry: ServedModel, version: number): void {
    if (entry.champion.model?.info.version === version || entry.pinned.has(version)) return;
    const key = `${entry.name}\0${version}`;
    this.lru.delete(key);
    this.lru.set(key, { entry, version });
  }

  /** Unloads on-demand versions, least recently used first, while more than MAX_LOADED_MODELS are loaded. */
  private evict(): void {
    let loaded = 0;
    for (const entry of this.entries.values()) loaded += (entry.champion.model ? 1 : 0) + entry.others.size;
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

  /** The model repository index (OIP): every model's served versions and their state. */
  repositoryIndex(): RepositoryEntry[] {
    const index: RepositoryEntry[] = [];
    for (const entry of this.entries.values()) {
      const champion = entry.champion.model;
      if (champion)
        index.push({
          name: entry.name,
          version: String(champion.info.version),
          state: 'READY',
          reason: 'champion',
        });
      else index.push({ name: entry.name, version: '', state: 'UNAVAILABLE', reason: entry.problem });
      for (const [version] of entry.others) {
        const role =
          entry.shadow?.info.version === version
            ? 'shadow'
            : entry.pinned.has(version)
              ? 'canary'
              : 'loaded on demand';
        index.push({ name: entry.name, version: String(version), state: 'READY', reason: role });
      }
    }
    return index;
  }

  /**
   * model.promoted: a hint that the champion of `modelName` may have moved. Only the model's name (and that it is a
   * champion move) is read; the registry is asked for the champion and its split, and its answer is served.
   */
  async onPromoted(
    event: Pick<ModelPromoted, 'modelName' | 'alias' | 'version' | 'sha256'>,
  ): Promise<ReloadOutcome> {
    if (event.alias !== 'champion' || !this.serves(event.modelName)) {
      return {
        result: 'skipped',
        reason:
          event.alias !== 'champion' ? `not a champion move` : `${event.modelName} is not in SERVE_MODELS`,
        model: this.entries.get(event.modelName)?.champion.model?.info ?? null,
      };
    }
    const { champion } = await this.recheck(this.entry(event.modelName), 'event');
    const served = this.entries.get(event.modelName)?.champion.model?.info ?? null;
    if (served && (served.version !== event.version || served.sha256 !== event.sha256)) {
      this.logger.warn(
        `model.promoted named ${event.modelName} v${event.version} (${event.sha256.slice(0, 12)}); the registry's champion is v${served.version} (${served.sha256.slice(0, 12)}), which is served`,
      );
    }
    return champion;
  }

  /** model.traffic: a hint that the split of `modelName` may have changed; the registry's split is applied. */
  async onTraffic(event: Pick<TrafficSplit, 'modelName'>): Promise<ReloadOutcome> {
    if (!this.serves(event.modelName)) {
      return { result: 'skipped', reason: `${event.modelName} is not in SERVE_MODELS`, model: null };
    }
    const entry = this.entry(event.modelName);
    const { traffic } = await this.recheck(entry, 'event');
    return (
      traffic ?? {
        result: 'skipped',
        reason: `the registry has no traffic split for ${entry.name}`,
        model: entry.champion.model?.info ?? null,
      }
    );
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
    const champion = await this.followChampion(entry, trigger);
    const traffic = await this.followTraffic(entry);
    return { champion, traffic };
  }

  /** Loads the registry's champion unless it is served (same version and SHA-256). */
  private async followChampion(entry: ServedModel, trigger: Trigger): Promise<ReloadOutcome> {
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

  /** Applies the registry's traffic split unless its revision is the one in force; null when the model has none. */
  private async followTraffic(entry: ServedModel): Promise<ReloadOutcome | null> {
    const current = entry.champion.model?.info ?? null;
    const split = await this.registry.traffic(entry.name).catch((error: Error) => error);
    if (split instanceof Error) {
      // Not a reload: the split in force stays, and the next event or sync asks again.
      const reason = `cannot look up the traffic split of ${entry.name}: ${split.message}`;
      this.logger.warn(reason);
      return { result: 'failure', reason, model: current };
    }
    if (split === null) return null;
    if (entry.traffic?.revision === split.revision) {
      return { result: 'skipped', reason: 'this traffic split is already in force', model: current };
    }
    return this.applyTraffic(entry, split);
  }

  /**
   * Applies a split read from the registry: loads every version it names (verified and warmed), then switches the
   * split in one assignment. A version that cannot load leaves the previous split in force.
   */
  private async applyTraffic(entry: ServedModel, split: TrafficSplit): Promise<ReloadOutcome> {
    const current = entry.champion.model?.info ?? null;
    const wanted = [...split.weights.filter((w) => w.weight > 0), ...(split.shadow ? [split.shadow] : [])];
    const fresh: LoadedModel[] = [];
    for (const version of wanted) {
      if (entry.loaded(version.version)) continue;
      try {
        const model = await this.loader.load(entry.name, version);
        fresh.push(model);
        entry.others.set(version.version, model);
      } catch (error) {
        for (const model of fresh) {
          entry.others.delete(model.info.version);
          model.retire();
        }
        return this.failed(
          entry,
          `traffic split of ${entry.name} not applied: cannot load v${version.version}: ${messageOf(error)}`,
        );
      }
    }
    const champion = entry.champion.model;
    let shadow: LoadedModel | null = split.shadow ? entry.loaded(split.shadow.version) : null;
    if (shadow && champion && shadow.signature.featureList !== champion.signature.featureList) {
      this.logger.warn(
        `${entry.name} v${shadow.info.version} takes other features than the champion (${shadow.signature.featureList}); it is not used as a shadow`,
      );
      shadow = null;
    }
    const onlyChampion =
      split.weights.filter((w) => w.weight > 0).length === 1 &&
      split.weights.find((w) => w.weight > 0)?.version === champion?.info.version;
    let upTo = 0;
    const entries: SplitEntry[] = [];
    for (const weight of split.weights) {
      if (weight.weight === 0) continue;
      upTo += weight.weight;
      entries.push({ version: weight.version, upTo });
    }
    const previouslyPinned = entry.pinned;
    entry.pinned = new Set(wanted.map((w) => w.version));
    entry.split = onlyChampion || entries.length === 0 ? null : entries;
    entry.traffic = split;
    if (entry.shadow !== shadow) {
      entry.shadow = shadow;
      entry.shadowTally = shadow ? this.metrics.shadowTally(entry.name, shadow.info.version) : null;
      if (!shadow) this.metrics.dropShadow(entry.name);
    }
    // Versions no longer named stay loaded, as on-demand versions the catalog may unload.
    for (const version of previouslyPinned) if (!entry.pinned.has(version)) this.touch(entry, version);
    this.evict();
    this.logger.log(
      `${entry.name} traffic: ${split.weights.map((w) => `v${w.version} ${w.weight}%`).join(', ')}` +
        (shadow ? `; shadow v${shadow.info.version}` : ''),
    );
    return {
      result: 'success',
      model: champion?.info ?? current ?? (shadow?.info as ModelInfo),
      previous: current,
    };
  }

  /** POST /admin/reload: asks the registry for a model's champion now and loads it unless it is already served. */
  reloadChampion(name: string = this.config.MODEL_NAME): Promise<ReloadOutcome> {
    this.served.retryUnannounced();
    const entry = this.find(name);
    return this.enqueue(entry, async () => {
      const source = await this.loader.champion(entry.name).catch((error: Error) => error);
      if (source instanceof Error || source === null) {
        const reason = source === null ? `the registry has no champion for ${entry.name}` : source.message;
        return this.failed(entry, reason);
      }
      return this.load(entry, source, 'admin');
    });
  }

  /**
   * Loads every registry champion that differs from the version served (a model.promoted missed while the broker
   * was unreachable, or a model promoted before this replica subscribed), and the traffic splits; silent while all
   * agree or the registry cannot be asked.
   */
  async syncWithRegistry(): Promise<ReloadOutcome | null> {
    if (this.stopped) return null;
    this.served.retryUnannounced();
    const outcomes = await this.refresh('sync');
    return outcomes.get(this.defaultModel.name) ?? null;
  }

  private entry(name: string): ServedModel {
    let entry = this.entries.get(name);
    if (!entry) {
      entry = new ServedModel(name, this.metrics.requestsOf(name));
      this.entries.set(name, entry);
    }
    return entry;
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
      for (const entry of this.entries.values()) {
        if (!entry.champion.model)
          entry.problem = `cannot look up the champion of ${entry.name}: ${messageOf(error)}`;
      }
      if (trigger === 'startup') this.metrics.reload('failure');
      return outcomes;
    }
    const byName = new Map(registered.map((model) => [model.name, model]));
    if (this.config.SERVE_MODELS === '*') for (const model of registered) this.entry(model.name);
    await Promise.all(
      [...this.entries.values()].map(async (entry) => {
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
    if (this.stopped) return;
    await this.refresh('startup');
    const waiting = [...this.entries.values()].filter(
      (entry) => !entry.champion.model && (entry === this.defaultModel || this.config.SERVE_MODELS !== '*'),
    );
    if (waiting.length > 0 && !this.stopped) {
      this.logger.warn(
        `${waiting.map((entry) => entry.problem).join('; ')}; retrying in ${this.config.MODEL_RETRY_INTERVAL_MS} ms`,
      );
      this.retryTimer = setTimeout(() => void this.tryInitialLoad(), this.config.MODEL_RETRY_INTERVAL_MS);
      this.retryTimer.unref();
    }
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
      this.lru.delete(`${entry.name}\0${source.version}`);
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
    if (this.stopped) {
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
    this.evict();
    return { result: 'success', model: next.info, previous };
  }

  private skipped(entry: ServedModel, reason: string): ReloadOutcome {
    this.metrics.reload('skipped');
    this.logger.log(`reload of ${entry.name} skipped: ${reason}`);
    return { result: 'skipped', reason, model: entry.champion.model?.info ?? null };
  }

  private failed(entry: ServedModel, reason: string): ReloadOutcome {
    this.metrics.reload('failure');
    if (!entry.champion.model) entry.problem = reason;
    this.logger.error(
      `reload of ${entry.name} failed, ${entry.champion.model ? 'the current version keeps serving' : 'no version served'}: ${reason}`,
    );
    return { result: 'failure', reason, model: entry.champion.model?.info ?? null };
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
