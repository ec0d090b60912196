import {
  type FeatureCell,
  DatasetVersionView,
  datasetVersionSchema,
  RowPageResponse,
  rowPageResponseSchema,
} from '@sepal/contracts';
import { RetryOptions, ServiceCallError, ServiceClient } from '@sepal/http-client';

/** A dataset version as the data service serves it (the contract in libs/contracts). */
export type DatasetVersionInfo = DatasetVersionView;

export interface SplitRows {
  /** Raw cells in the dataset's feature order: numbers, strings (categorical columns), null (missing). */
  features: FeatureCell[][];
  /** Class indices (classification) or target values (regression). */
  labels: number[];
}

const PAGE_SIZE = 5000;

/**
 * The data service's REST API: version metadata and the rows of a split, paged. Every call retries while the data
 * service is unreachable or failing, for a bounded time; every answer is checked against its contract.
 */
export class DataClient {
  private readonly http: ServiceClient;
  private readonly retry: RetryOptions;

  constructor(baseUrl: string, retryForMs: number, apiKey?: string) {
    this.http = new ServiceClient({
      service: 'data',
      baseUrl,
      apiKey,
      unreachableHint: 'Start the data service or point DATA_URL at it.',
    });
    this.retry = { forMs: retryForMs };
  }

  /** A version by ref ('latest', 'v2', id or prefix); a missing dataset/version is a ServiceCallError 404. */
  version(dataset: string, ref = 'latest'): Promise<DatasetVersionInfo> {
    return this.http.get(`/datasets/${enc(dataset)}/versions/${enc(ref)}`, {
      schema: datasetVersionSchema,
      retry: this.retry,
    });
  }

  async rows(dataset: string, version: string, split: 'train' | 'test'): Promise<SplitRows> {
    const result: SplitRows = { features: [], labels: [] };
    let cursor: number | null = -1;
    while (cursor !== null) {
      const path = `/datasets/${enc(dataset)}/versions/${enc(version)}/rows?split=${split}&cursor=${cursor}&limit=${PAGE_SIZE}`;
      const page: RowPageResponse = await this.http.get(path, {
        schema: rowPageResponseSchema,
        retry: this.retry,
      });
      result.features.push(...page.features);
      result.labels.push(...page.labels);
      if (page.nextCursor !== null && page.nextCursor <= cursor) {
        throw new ServiceCallError(
          'data',
          'GET',
          this.http.url(path),
          502,
          `rows cursor did not advance (${cursor} -> ${page.nextCursor})`,
        );
      }
      cursor = page.nextCursor;
    }
    return result;
  }
}

const enc = encodeURIComponent;
