/*
 * A small client of Prometheus's HTTP API (instant and range queries), for the dashboard screenshots and the monitoring
 * tests. Every error names the Prometheus URL it called, and the HTTP status when there was an answer.
 */

import { ServiceCallError, ServiceClient } from '@sepal/http-client';

export interface PromSeries {
  metric: Record<string, string>;
  /** [unix seconds, value as text] pairs. */
  values: [number, string][];
}

/** The answer of /api/v1/query for a vector or scalar, as series of one sample each. */
export interface PromInstant {
  resultType: string;
  series: PromSeries[];
}

/** Prometheus answered but refused the query (e.g. a parse error); the message is Prometheus's own. */
export class PromQueryError extends Error {
  constructor(
    readonly url: string,
    readonly status: number,
    readonly expr: string,
    readonly errorType: string,
    detail: string,
  ) {
    super(`${errorType}: ${detail} (HTTP ${status} from ${url}; query: ${expr})`);
    this.name = 'PromQueryError';
  }
}

/** Prometheus did not answer at all (not running, wrong URL, timeout). */
export class PrometheusUnreachableError extends Error {
  constructor(
    readonly url: string,
    cause: string,
  ) {
    super(
      `Prometheus at ${url} did not answer (${cause}): ` +
        'start it (docker compose up -d prometheus) or set PROMETHEUS_URL.',
    );
    this.name = 'PrometheusUnreachableError';
  }
}

/** Prometheus's HTTP API through the project's one service client (timeouts, errors naming the URL and status). */
export class PrometheusHttp {
  readonly baseUrl: string;
  private readonly client: ServiceClient;

  constructor(baseUrl: string, timeoutMs = 10_000) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.client = new ServiceClient({ service: 'prometheus', baseUrl: this.baseUrl, timeoutMs });
  }

  /** Whether Prometheus answers its readiness endpoint. */
  async ready(): Promise<boolean> {
    return this.client.text('/-/ready').then(
      () => true,
      () => false,
    );
  }

  private async call(path: string, params: Record<string, string>): Promise<unknown> {
    const url = this.client.url(path);
    const expr = params.query ?? '';
    let body: { status?: string; data?: unknown; errorType?: string; error?: string };
    try {
      body = await this.client.get(`${path}?${new URLSearchParams(params).toString()}`);
    } catch (error) {
      if (!(error instanceof ServiceCallError)) throw error;
      if (error.status === null) throw new PrometheusUnreachableError(url, error.detail);
      // Prometheus refuses a query with a 4xx/5xx and {"status":"error","errorType":…,"error":…}.
      const refusal = parseJson(error.detail) as typeof body | undefined;
      throw new PromQueryError(
        url,
        error.status,
        expr,
        refusal?.errorType ?? 'error',
        refusal?.error ?? error.detail,
      );
    }
    if (body?.status !== 'success') {
      throw new PromQueryError(
        url,
        200,
        expr,
        body?.errorType ?? 'error',
        body?.error ?? JSON.stringify(body),
      );
    }
    return body.data;
  }

  /** An instant query at `time` (unix seconds; default now). Throws PromQueryError when Prometheus refuses it. */
  async query(expr: string, time?: number): Promise<PromInstant> {
    const data = (await this.call('/api/v1/query', {
      query: expr,
      ...(time !== undefined ? { time: String(time) } : {}),
    })) as { resultType: string; result: unknown };
    if (data.resultType === 'scalar' || data.resultType === 'string') {
      const [t, v] = data.result as [number, string];
      return { resultType: data.resultType, series: [{ metric: {}, values: [[t, v]] }] };
    }
    if (data.resultType === 'matrix') {
      return { resultType: data.resultType, series: data.result as PromSeries[] };
    }
    const vector = data.result as { metric: Record<string, string>; value: [number, string] }[];
    return {
      resultType: data.resultType,
      series: vector.map((s) => ({ metric: s.metric, values: [s.value] })),
    };
  }

  /** A range query from `start` to `end` (unix seconds) every `step` seconds. */
  async queryRange(expr: string, start: number, end: number, step: number): Promise<PromSeries[]> {
    const data = (await this.call('/api/v1/query_range', {
      query: expr,
      start: String(start),
      end: String(end),
      step: String(step),
    })) as { result: PromSeries[] };
    return data.result;
  }
}

/** A Prometheus duration of one unit (30s, 30m, 6h, 1d) in seconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(s|m|h|d)$/.exec(text.trim());
  if (!match) throw new Error(`'${text}' is not a duration like 30m, 6h or 1d`);
  return Number(match[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[match[2] as 's' | 'm' | 'h' | 'd'];
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
