import { createHash } from 'node:crypto';
import { ArtifactView, ModelVersionView, RunPage } from '@sepal/contracts';
import { callJson, ServiceCallError, withRetry } from './http-json';

export type ChampionView = ModelVersionView & { alias: string };

/**
 * The registry's REST API for what events cannot do: artifacts, versions and aliases. Every call retries while the
 * registry is unreachable, for a bounded time, then throws.
 */
export class RegistryClient {
  constructor(
    private readonly baseUrl: string,
    private readonly retryForMs: number,
    private readonly apiKey?: string,
    private readonly onRetry?: (message: string) => void,
  ) {}

  uploadArtifact(bytes: Uint8Array, sha256: string): Promise<ArtifactView> {
    return this.call<ArtifactView>('/artifacts', {
      method: 'POST',
      raw: bytes,
      headers: { 'x-content-sha256': sha256 },
    });
  }

  /**
   * Registers a version. The run it names is created by the training.started event, which the registry may not have
   * consumed yet: an unknown run (404) is retried too.
   */
  registerVersion(
    model: string,
    body: {
      runId: string;
      sha256: string;
      signature?: Record<string, unknown>;
      metrics?: Record<string, number>;
      description?: string;
    },
  ): Promise<ModelVersionView> {
    return this.call<ModelVersionView>(
      `/models/${enc(model)}/versions`,
      { method: 'POST', body },
      (error) => error instanceof ServiceCallError && (error.transient || error.status === 404),
    );
  }

  /** The champion, or null when the model or the alias does not exist. */
  async champion(model: string): Promise<ChampionView | null> {
    try {
      return await this.call<ChampionView>(`/models/${enc(model)}/aliases/champion`);
    } catch (error) {
      if (error instanceof ServiceCallError && error.status === 404) return null;
      throw error;
    }
  }

  /** An artifact's bytes, refused unless they hash to the SHA-256 they were asked by. */
  async downloadArtifact(sha256: string): Promise<Uint8Array> {
    const response = await fetch(`${this.baseUrl}/artifacts/${enc(sha256)}`, {
      headers: this.headers(),
    }).catch((error: Error) => {
      throw new ServiceCallError('registry', `cannot download artifact ${sha256}: ${error.message}`, null);
    });
    if (!response.ok) {
      throw new ServiceCallError('registry', `artifact ${sha256}: HTTP ${response.status}`, response.status);
    }
    const bytes = new Uint8Array(await response.arrayBuffer());
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (actual !== sha256) {
      throw new ServiceCallError('registry', `artifact ${sha256} arrived with SHA-256 ${actual}`, null);
    }
    return bytes;
  }

  setAlias(
    model: string,
    alias: string,
    body: { version: number; reason: string; by: string },
  ): Promise<unknown> {
    return this.call(`/models/${enc(model)}/aliases/${enc(alias)}`, { method: 'PUT', body });
  }

  /** One page of a run search, e.g. `tags.job_id = '…' AND status = 'running'`; a single attempt. */
  searchRuns(query: { filter?: string; parentRunId?: string; limit?: number }): Promise<RunPage> {
    const params = new URLSearchParams();
    if (query.filter) params.set('filter', query.filter);
    if (query.parentRunId) params.set('parentRunId', query.parentRunId);
    params.set('limit', String(query.limit ?? 1000));
    return callJson<RunPage>('registry', `${this.baseUrl}/runs?${params}`, { headers: this.headers() });
  }

  private call<T>(
    path: string,
    request: { method?: string; body?: unknown; raw?: Uint8Array; headers?: Record<string, string> } = {},
    retryable?: (error: unknown) => boolean,
  ): Promise<T> {
    return withRetry(
      () =>
        callJson<T>('registry', `${this.baseUrl}${path}`, {
          ...request,
          headers: { ...this.headers(), ...request.headers },
        }),
      {
        forMs: this.retryForMs,
        retryable,
        onRetry: (error, attempt, delay) =>
          this.onRetry?.(`${(error as Error).message}; attempt ${attempt}, retrying in ${delay} ms`),
      },
    );
  }

  private headers(): Record<string, string> {
    return this.apiKey ? { 'x-api-key': this.apiKey } : {};
  }
}

const enc = encodeURIComponent;
