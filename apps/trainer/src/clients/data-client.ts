import { RowPageResponse } from '@sepal/contracts';
import { callJson, ServiceCallError, withRetry } from './http-json';

export interface DatasetVersionInfo {
  id: string;
  seq: number;
  schema: { features: string[]; target: string; labels: string[] };
  rowCount: number;
}

export interface SplitRows {
  features: number[][];
  labels: number[];
}

const PAGE_SIZE = 5000;

/** The data service's REST API: version metadata and the rows of a split, paged. */
export class DataClient {
  constructor(
    private readonly baseUrl: string,
    private readonly retryForMs: number,
    private readonly apiKey?: string,
  ) {}

  /** A version by ref ('latest', 'v2', id or prefix); a missing dataset/version is a ServiceCallError 404. */
  version(dataset: string, ref = 'latest'): Promise<DatasetVersionInfo> {
    return this.get<DatasetVersionInfo>(`/datasets/${enc(dataset)}/versions/${enc(ref)}`);
  }

  async rows(dataset: string, version: string, split: 'train' | 'test'): Promise<SplitRows> {
    const result: SplitRows = { features: [], labels: [] };
    let cursor: number | null = -1;
    while (cursor !== null) {
      const page: RowPageResponse = await this.get<RowPageResponse>(
        `/datasets/${enc(dataset)}/versions/${enc(version)}/rows?split=${split}&cursor=${cursor}&limit=${PAGE_SIZE}`,
      );
      result.features.push(...page.features);
      result.labels.push(...page.labels);
      if (page.nextCursor !== null && page.nextCursor <= cursor) {
        throw new ServiceCallError(
          'data',
          `rows cursor did not advance (${cursor} -> ${page.nextCursor})`,
          502,
        );
      }
      cursor = page.nextCursor;
    }
    return result;
  }

  private get<T>(path: string): Promise<T> {
    const headers: Record<string, string> = this.apiKey ? { 'x-api-key': this.apiKey } : {};
    return withRetry(() => callJson<T>('data service', `${this.baseUrl}${path}`, { headers }), {
      forMs: this.retryForMs,
    });
  }
}

const enc = encodeURIComponent;
