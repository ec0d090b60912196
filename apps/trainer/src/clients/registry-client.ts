import { createHash } from 'node:crypto';
import {
  ArtifactView,
  JobView,
  LineageView,
  ModelGate,
  ModelGateView,
  ModelVersionView,
  RunPage,
} from '@sepal/contracts';
import { isTransient, RetryOptions, ServiceCallError, ServiceClient } from '@sepal/http-client';

export type ChampionView = ModelVersionView & { alias: string };

/**
 * The registry's REST API for what events cannot do: artifacts, versions and aliases. Every call retries while the
 * registry is unreachable, for a bounded time, then throws.
 */
export class RegistryClient {
  private readonly http: ServiceClient;

  constructor(
    baseUrl: string,
    private readonly retryForMs: number,
    apiKey?: string,
    private readonly onRetry?: (message: string) => void,
  ) {
    this.http = new ServiceClient({
      service: 'registry',
      baseUrl,
      apiKey,
      unreachableHint: 'Start the registry or point REGISTRY_URL at it.',
    });
  }

  uploadArtifact(bytes: Uint8Array, sha256: string): Promise<ArtifactView> {
    return this.http.post<ArtifactView>('/artifacts', undefined, {
      raw: bytes,
      headers: { 'x-content-sha256': sha256 },
      retry: this.retry(),
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
    return this.http.post<ModelVersionView>(`/models/${enc(model)}/versions`, body, {
      retry: this.retry(
        (error) => isTransient(error) || (error instanceof ServiceCallError && error.status === 404),
      ),
    });
  }

  /** The champion, or null when the model or the alias does not exist. */
  async champion(model: string): Promise<ChampionView | null> {
    try {
      return await this.http.get<ChampionView>(`/models/${enc(model)}/aliases/champion`, {
        retry: this.retry(),
      });
    } catch (error) {
      if (error instanceof ServiceCallError && error.status === 404) return null;
      throw error;
    }
  }

  /** The durable record of a training job and its steps (one attempt: a job view is not worth waiting for). */
  job(id: string): Promise<JobView> {
    return this.http.get<JobView>(`/jobs/${enc(id)}`);
  }

  /** The model's own promotion gate, or null when it sets none (or does not exist): the task's defaults apply. */
  async gate(model: string): Promise<ModelGate | null> {
    try {
      const view = await this.http.get<ModelGateView>(`/models/${enc(model)}/gate`, { retry: this.retry() });
      return view.gate;
    } catch (error) {
      if (error instanceof ServiceCallError && error.status === 404) return null;
      throw error;
    }
  }

  /** Where a version comes from: its run, the run's sweep and the dataset version they trained on. */
  lineage(model: string, version: number): Promise<LineageView> {
    return this.http.get<LineageView>(`/models/${enc(model)}/versions/${version}/lineage`, {
      retry: this.retry(),
    });
  }

  /** An artifact's bytes, refused unless they hash to the SHA-256 they were asked by; a single attempt. */
  async downloadArtifact(sha256: string): Promise<Uint8Array> {
    const path = `/artifacts/${enc(sha256)}`;
    const bytes = await this.http.bytes(path);
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (actual !== sha256) {
      throw new ServiceCallError(
        'registry',
        'GET',
        this.http.url(path),
        null,
        `artifact ${sha256} arrived with SHA-256 ${actual}`,
      );
    }
    return bytes;
  }

  setAlias(model: string, alias: string, body: { version: number; reason: string }): Promise<unknown> {
    return this.http.put(`/models/${enc(model)}/aliases/${enc(alias)}`, body, { retry: this.retry() });
  }

  /** One page of a run search, e.g. `tags.job_id = '…' AND status = 'running'`; a single attempt. */
  searchRuns(query: { filter?: string; parentRunId?: string; limit?: number }): Promise<RunPage> {
    const params = new URLSearchParams();
    if (query.filter) params.set('filter', query.filter);
    if (query.parentRunId) params.set('parentRunId', query.parentRunId);
    params.set('limit', String(query.limit ?? 1000));
    return this.http.get<RunPage>(`/runs?${params}`);
  }

  private retry(retryable?: (error: unknown) => boolean): RetryOptions {
    return {
      forMs: this.retryForMs,
      retryable,
      onRetry: (error, attempt, delay) =>
        this.onRetry?.(`${(error as Error).message}; attempt ${attempt}, retrying in ${delay} ms`),
    };
  }
}

const enc = encodeURIComponent;
