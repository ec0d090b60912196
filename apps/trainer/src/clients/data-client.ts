import {
  type FeatureCell,
  DatasetVersionView,
  datasetVersionSchema,
  decodeImageBatch,
  type ImageSpec,
  EvaluationRowsPage,
  evaluationRowsPageSchema,
  evaluationSetSchema,
  EvaluationSetView,
  RowPageResponse,
  rowPageResponseSchema,
} from '@sepal/contracts';
import { RetryOptions, ServiceCallError, ServiceClient } from '@sepal/http-client';
import type { z } from 'zod';

/** A dataset version as the data service serves it (the contract in libs/contracts). */
export type DatasetVersionInfo = DatasetVersionView;

export interface SplitRows {
  /** Raw cells in the dataset's feature order: numbers, strings (categorical columns), null (missing). */
  features: FeatureCell[][];
  /** Class indices (classification) or target values (regression). */
  labels: number[];
}

/** A split of an image dataset version: every image's pixels, in row order, and its class. */
export interface SplitImages {
  image: Pick<ImageSpec, 'height' | 'width' | 'channels'>;
  /** count × height × width × channels bytes, NHWC. */
  pixels: Uint8Array;
  /** Class indices into the version's label map. */
  labels: number[];
  /** Each image's content hash (the data service's GET /datasets/:name/images/:hash), when it sent them. */
  hashes: string[];
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

  /** A version, or one split of it, as the CSV the data service exports (header, class names). */
  exportCsv(dataset: string, version: string, split?: 'train' | 'test'): Promise<Uint8Array> {
    const query = split ? `?split=${split}` : '';
    return this.http.bytes(`/datasets/${enc(dataset)}/versions/${enc(version)}/export.csv${query}`, {
      retry: this.retry,
      timeoutMs: 300_000,
    });
  }

  rows(dataset: string, version: string, split: 'train' | 'test'): Promise<SplitRows> {
    return this.pages(
      (cursor) =>
        `/datasets/${enc(dataset)}/versions/${enc(version)}/rows?split=${split}&cursor=${cursor}&limit=${PAGE_SIZE}`,
      rowPageResponseSchema,
    );
  }

  /** An image version's split, read through the data service's binary image pages (following their cursor). */
  async images(dataset: string, version: string, split: 'train' | 'test'): Promise<SplitImages> {
    const chunks: Uint8Array[] = [];
    const labels: number[] = [];
    const hashes: string[] = [];
    let image: SplitImages['image'] | undefined;
    let cursor: number | null = -1;
    while (cursor !== null) {
      const path = `/datasets/${enc(dataset)}/versions/${enc(version)}/images?split=${split}&cursor=${cursor}&limit=${PAGE_SIZE}`;
      const {
        header,
        pixels,
        labels: pageLabels,
      } = decodeImageBatch(await this.http.bytes(path, { retry: this.retry }));
      image ??= { height: header.height, width: header.width, channels: header.channels };
      chunks.push(pixels);
      labels.push(...pageLabels);
      hashes.push(...(header.hashes ?? []));
      if (header.nextCursor !== null && header.nextCursor <= cursor) {
        throw new ServiceCallError(
          'data',
          'GET',
          this.http.url(path),
          502,
          'image page cursor did not advance',
        );
      }
      cursor = header.nextCursor;
    }
    const pixels = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
    chunks.reduce((at, chunk) => (pixels.set(chunk, at), at + chunk.length), 0);
    return {
      image: image ?? { height: 0, width: 0, channels: 1 },
      pixels,
      labels,
      hashes: hashes.length === labels.length ? hashes : [],
    };
  }

  /**
   * The model's frozen evaluation set (what its promotions are decided on): frozen at `version` if it has none yet,
   * brought up to date with later imports by the data service.
   */
  evaluationSet(dataset: string, model: string, version: string): Promise<EvaluationSetView> {
    return this.http.post(
      `/datasets/${enc(dataset)}/evaluation-sets/${enc(model)}`,
      { version },
      { schema: evaluationSetSchema, retry: this.retry },
    );
  }

  /** Every row of the model's frozen evaluation set, in row-id order. */
  evaluationRows(dataset: string, model: string): Promise<SplitRows> {
    return this.pages(
      (cursor) =>
        `/datasets/${enc(dataset)}/evaluation-sets/${enc(model)}/rows?cursor=${cursor}&limit=${PAGE_SIZE}`,
      evaluationRowsPageSchema,
    );
  }

  /** Every page of a row listing (a version's split, a frozen set), following its cursor. */
  private async pages<P extends RowPageResponse | EvaluationRowsPage>(
    pathAt: (cursor: number) => string,
    schema: z.ZodType<P>,
  ): Promise<SplitRows> {
    const result: SplitRows = { features: [], labels: [] };
    let cursor: number | null = -1;
    while (cursor !== null) {
      const path = pathAt(cursor);
      const page: P = await this.http.get(path, { schema, retry: this.retry });
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
