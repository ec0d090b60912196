import { Inject, Injectable } from '@nestjs/common';
import { aliasedModelVersionViewSchema } from '@sepal/contracts';
import { ServiceCallError, ServiceClient } from '@sepal/http-client';
import { InferenceConfig, InferenceConfigValues } from '../inference.config';
import { ModelRegistry, ModelSource } from './model-registry';

/** The registry over HTTP: the champion alias (validated against the registry contract) and artifact downloads. */
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

  async champion(modelName: string): Promise<ModelSource | null> {
    try {
      const view = await this.client.get(`/models/${encodeURIComponent(modelName)}/aliases/champion`, {
        schema: aliasedModelVersionViewSchema,
      });
      return { version: view.version, sha256: view.sha256, artifactUrl: view.artifactUrl, runId: view.runId };
    } catch (error) {
      if (error instanceof ServiceCallError && error.status === 404) return null;
      throw error;
    }
  }

  download(artifactUrl: string): Promise<Uint8Array> {
    return this.client.bytes(artifactUrl);
  }
}
