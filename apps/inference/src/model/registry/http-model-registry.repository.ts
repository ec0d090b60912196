import { Inject, Injectable } from '@nestjs/common';
import { z } from 'zod';
import {
  aliasedModelVersionViewSchema,
  modelVersionViewSchema,
  TrafficSplit,
  trafficSplitSchema,
} from '@sepal/contracts';
import { ServiceCallError, ServiceClient } from '@sepal/http-client';
import { InferenceConfig, InferenceConfigValues } from '../../inference.config';
import { ModelRegistry, ModelSource, RegisteredModel } from './model-registry';

const modelPageSchema = z.object({
  models: z.array(z.object({ name: z.string(), aliases: z.record(z.string(), z.number()) })),
  nextPageToken: z.string().nullable(),
});
const lineageSchema = z.object({ dataset: z.string().nullable() });
/** At most this many pages of GET /models are read per listing (100 models each). */
const MAX_MODEL_PAGES = 100;

const notFound = (error: unknown): boolean => error instanceof ServiceCallError && error.status === 404;
const SHA256 = /^[0-9a-f]{64}$/;

/** An answer of the registry about another model or version than the one asked: refused, never loaded. */
function expectSame(what: string, asked: string | number, answered: string | number): void {
  if (asked !== answered) {
    throw new Error(
      `the registry answered ${what} ${JSON.stringify(answered)} when asked for ${JSON.stringify(asked)}`,
    );
  }
}

/**
 * The registry over HTTP (answers validated against the registry contract) and artifact downloads by digest: every
 * call goes to REGISTRY_URL with this gateway's key (the client takes relative paths only), whatever URL an answer or
 * an event names.
 */
@Injectable()
export class HttpModelRegistry extends ModelRegistry {
  private readonly client: ServiceClient;

  constructor(@Inject(InferenceConfig) config: InferenceConfigValues) {
    super();
    this.client = new ServiceClient({
      service: 'registry',
      baseUrl: config.REGISTRY_URL,
      timeoutMs: config.REGISTRY_TIMEOUT_MS,
      // This gateway's own key (needs `read`): the registry records its use like any other caller's.
      apiKey: config.SEPAL_API_KEY,
      unreachableHint: 'Check REGISTRY_URL and that the registry is running.',
    });
  }

  async models(): Promise<RegisteredModel[]> {
    const models: RegisteredModel[] = [];
    let token: string | null = null;
    for (let page = 0; page < MAX_MODEL_PAGES; page++) {
      const query: string = `/models?limit=100${token ? `&pageToken=${encodeURIComponent(token)}` : ''}`;
      const answer = await this.client.get(query, { schema: modelPageSchema });
      for (const model of answer.models)
        models.push({ name: model.name, champion: model.aliases.champion ?? null });
      token = answer.nextPageToken;
      if (!token) break;
    }
    return models;
  }

  async champion(modelName: string): Promise<ModelSource | null> {
    try {
      const view = await this.client.get(`/models/${encodeURIComponent(modelName)}/aliases/champion`, {
        schema: aliasedModelVersionViewSchema,
      });
      expectSame('model', modelName, view.name);
      expectSame('alias', 'champion', view.alias);
      return { version: view.version, sha256: view.sha256, runId: view.runId, metrics: view.metrics };
    } catch (error) {
      if (notFound(error)) return null;
      throw error;
    }
  }

  async version(modelName: string, version: number): Promise<ModelSource | null> {
    try {
      const view = await this.client.get(`/models/${encodeURIComponent(modelName)}/versions/${version}`, {
        schema: modelVersionViewSchema,
      });
      expectSame('model', modelName, view.name);
      expectSame('version', version, view.version);
      return { version: view.version, sha256: view.sha256, runId: view.runId, metrics: view.metrics };
    } catch (error) {
      if (notFound(error)) return null;
      throw error;
    }
  }

  async traffic(modelName: string): Promise<TrafficSplit | null> {
    try {
      const split = await this.client.get(`/models/${encodeURIComponent(modelName)}/traffic`, {
        schema: trafficSplitSchema,
      });
      expectSame('model', modelName, split.modelName);
      return split;
    } catch (error) {
      if (notFound(error)) return null;
      throw error;
    }
  }

  async dataset(modelName: string, version: number): Promise<string | null> {
    try {
      const lineage = await this.client.get(
        `/models/${encodeURIComponent(modelName)}/versions/${version}/lineage`,
        { schema: lineageSchema },
      );
      return lineage.dataset;
    } catch (error) {
      if (notFound(error)) return null;
      throw error;
    }
  }

  /** GET /artifacts/:sha256 on the registry (never a URL from an answer or an event). */
  async download(sha256: string): Promise<Uint8Array> {
    if (!SHA256.test(sha256)) throw new Error(`not a SHA-256 digest: ${JSON.stringify(sha256.slice(0, 80))}`);
    return this.client.bytes(`/artifacts/${sha256}`);
  }
}
