import type { FastifyInstance } from 'fastify';
import type { Metric, MetricValueWithName, Registry } from 'prom-client';

export const LATENCY_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];
const REQUESTS = 'http_requests_total';
const DURATION = 'http_request_duration_seconds';

/** One (method, route, status) series: its count and its latency histogram (buckets not cumulative). */
export class HttpSeries {
  readonly buckets = new Float64Array(LATENCY_BUCKETS.length + 1);
  count = 0;
  sum = 0;

  constructor(readonly labels: Readonly<{ method: string; route: string; status: string }>) {}

  /** One answer that took `seconds`: an increment, an add and a scan of the 14 fixed bucket bounds. */
  record(seconds: number): void {
    let bucket = 0;
    while (bucket < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[bucket]) bucket++;
    this.buckets[bucket]++;
    this.count++;
    this.sum += seconds;
  }
}

/**
 * Every HTTP answer of this process by method, route pattern and status, tallied in plain numbers on the request path
 * and read by Prometheus as http_requests_total (counter) and http_request_duration_seconds (histogram) when it
 * scrapes: one map lookup and one record per answer, without prom-client's label validation and hashing per call
 * (as the gateway's per-model tallies, ModelRequests, are counted). One per app, in its AppMetricsRegistry.
 */
export class HttpTally {
  private readonly series = new Map<string, HttpSeries>();

  /** The series of (method, route, status); a caller on a hot path may keep it and record into it directly. */
  of(method: string, route: string, status: number | string): HttpSeries {
    const key = `${method} ${status} ${route}`;
    let series = this.series.get(key);
    if (!series) {
      series = new HttpSeries({ method, route, status: String(status) });
      this.series.set(key, series);
    }
    return series;
  }

  record(method: string, route: string, status: number, seconds: number): void {
    this.of(method, route, status).record(seconds);
  }

  all(): Iterable<HttpSeries> {
    return this.series.values();
  }
}

type Sample = MetricValueWithName<string>;

/** A metric prom-client's registry reads from the tally at scrape time (it reads name, help, type and values). */
class TallyMetric {
  readonly aggregator = 'sum';

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'histogram',
    readonly labelNames: string[],
    private readonly samples: () => Sample[],
  ) {}

  get(): { name: string; help: string; type: string; aggregator: 'sum'; values: Sample[] } {
    return { name: this.name, help: this.help, type: this.type, aggregator: 'sum', values: this.samples() };
  }

  /** Cumulative, like any counter: prom-client's resetMetrics has nothing to clear here. */
  reset(): void {}
}

/** A new tally, read by `registry` as http_requests_total and http_request_duration_seconds when it is scraped. */
export function registerHttpTally(registry: Registry): HttpTally {
  const tally = new HttpTally();
  const labelNames = ['method', 'route', 'status'];
  registry.registerMetric(
    new TallyMetric(
      REQUESTS,
      'HTTP requests answered, by method, route pattern and status code.',
      'counter',
      labelNames,
      () => [...tally.all()].map((s) => ({ metricName: REQUESTS, labels: { ...s.labels }, value: s.count })),
    ) as unknown as Metric,
  );
  registry.registerMetric(
    new TallyMetric(
      DURATION,
      'Time to answer an HTTP request, by method, route pattern and status code.',
      'histogram',
      labelNames,
      () => [...tally.all()].flatMap((s) => histogramSamples(s)),
    ) as unknown as Metric,
  );
  return tally;
}

function histogramSamples(series: HttpSeries): Sample[] {
  const samples: Sample[] = [];
  let cumulative = 0;
  for (let i = 0; i <= LATENCY_BUCKETS.length; i++) {
    cumulative += series.buckets[i];
    const le = i < LATENCY_BUCKETS.length ? LATENCY_BUCKETS[i] : '+Inf';
    samples.push({ metricName: `${DURATION}_bucket`, labels: { le, ...series.labels }, value: cumulative });
  }
  samples.push({ metricName: `${DURATION}_sum`, labels: { ...series.labels }, value: series.sum });
  samples.push({ metricName: `${DURATION}_count`, labels: { ...series.labels }, value: series.count });
  return samples;
}

/** Counts and times every HTTP request by method, route pattern and status, from Fastify's own clock, in `tally`. */
export function installHttpMetrics(fastify: FastifyInstance, tally: HttpTally): void {
  fastify.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    if (route !== '/metrics') tally.record(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
}
