import { Inject, Injectable } from '@nestjs/common';
import { NotFoundError, UnavailableError } from '@sepal/contracts';
import { InferenceConfig, InferenceConfigValues } from '../../inference.config';
import { InferenceMetrics, ModelRequests } from '../../metrics/inference-metrics.service';
import { LoadedModel } from '../loading/loaded-model';
import { ServedModel } from './served-model';

/**
 * The models this gateway knows, by name (the default model, the SERVE_MODELS list and, with SERVE_MODELS=*, every
 * model the registry lists), and the lookups a request makes in it.
 */
@Injectable()
export class ModelCatalog {
  private readonly entries = new Map<string, ServedModel>();
  /** Set on shutdown: no reload starts or swaps in after it. */
  stopped = false;
  /** The default model's entry (POST /predict): the hot path reads it without a lookup. */
  readonly defaultModel: ServedModel;

  constructor(
    @Inject(InferenceConfig) private readonly config: InferenceConfigValues,
    private readonly metrics: InferenceMetrics,
  ) {
    this.defaultModel = new ServedModel(config.MODEL_NAME, metrics.requestsOf(config.MODEL_NAME));
    this.entries.set(config.MODEL_NAME, this.defaultModel);
    if (config.SERVE_MODELS !== '*') for (const name of config.SERVE_MODELS) this.entry(name);
    metrics.watchCatalog(() => this.entries.values());
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

  /** The entry of `name` if this gateway knows it. */
  get(name: string): ServedModel | undefined {
    return this.entries.get(name);
  }

  /** The entry of `name`, created (empty) if this gateway did not know it yet. */
  entry(name: string): ServedModel {
    let entry = this.entries.get(name);
    if (!entry) {
      entry = new ServedModel(name, this.metrics.requestsOf(name));
      this.entries.set(name, entry);
    }
    return entry;
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

  /** The health detail of the catalog: the default model's champion (throws while there is none) and the others'. */
  healthDetail(): string {
    const model = this.defaultModel.champion.model;
    if (!model) throw new Error(this.defaultModel.problem);
    const others = [...this.entries.values()].filter((e) => e !== this.defaultModel && e.champion.model);
    return (
      `${model.info.name} v${model.info.version} (${model.info.sha256.slice(0, 12)})` +
      (others.length ? ` and ${others.length} other model(s)` : '')
    );
  }

  /** On shutdown: waits for every model's reloads, then releases every loaded version. */
  async close(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.entries.values()].map((entry) => entry.queue.catch(() => undefined)));
    for (const entry of this.entries.values()) {
      entry.champion.clear();
      for (const model of entry.others.values()) model.retire();
      entry.others.clear();
    }
  }
}
