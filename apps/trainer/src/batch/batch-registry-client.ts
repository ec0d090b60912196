import { createReadStream } from 'node:fs';
import { BatchJobView, BatchOutputView } from '@sepal/contracts';
import { ServiceClient } from '@sepal/http-client';

/** The registry's batch-job routes a trainer uses: the uploaded input, the job's record, storing the output. */
export class BatchRegistryClient {
  private readonly http: ServiceClient;

  constructor(
    baseUrl: string,
    private readonly retryForMs: number,
    apiKey?: string,
  ) {
    this.http = new ServiceClient({
      service: 'registry',
      baseUrl,
      apiKey,
      unreachableHint: 'Start the registry or point REGISTRY_URL at it.',
    });
  }

  job(id: string): Promise<BatchJobView> {
    return this.http.get<BatchJobView>(`/batch-jobs/${enc(id)}`, { retry: { forMs: this.retryForMs } });
  }

  input(id: string): Promise<Uint8Array> {
    return this.http.bytes(`/batch-jobs/${enc(id)}/input.csv`, {
      retry: { forMs: this.retryForMs },
      timeoutMs: 300_000,
    });
  }

  /** Streams the output file of `attempt`; the registry registers it only while that attempt runs uncancelled. */
  storeOutput(
    id: string,
    attempt: number,
    file: { path: string; sha256: string; rows: number; errorRows: number },
  ): Promise<BatchOutputView> {
    const query = new URLSearchParams({
      attempt: String(attempt),
      rows: String(file.rows),
      errorRows: String(file.errorRows),
    });
    return this.http.json<BatchOutputView>(`/batch-jobs/${enc(id)}/output?${query}`, {
      method: 'PUT',
      upload: { body: createReadStream(file.path), contentType: 'text/csv' },
      headers: { 'x-content-sha256': file.sha256 },
      timeoutMs: 600_000,
    });
  }
}

const enc = encodeURIComponent;
