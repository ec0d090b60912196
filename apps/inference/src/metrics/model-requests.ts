import { Counter, Metric, MetricValueWithName } from 'prom-client';

/** Status classes of sepal_model_requests_total: what a prediction request of a model was answered with. */
export const REQUEST_CODES = ['2xx', '4xx', '5xx'] as const;
/** Time to answer a prediction request: from a tenth of a millisecond (one row on the lean path) to seconds. */
export const REQUEST_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];
const HISTOGRAM = 'sepal_model_request_duration_seconds';

/**
 * The requests of one served model, tallied in typed arrays on the hot path and folded into
 * sepal_model_requests_total and sepal_model_request_duration_seconds when Prometheus scrapes (as PredictionTally
 * does for the predictions): counting a request is an index into a status array and a scan of the 16 fixed bucket
 * bounds, whatever the number of models, without prom-client's label validation and hashing per call.
 */
export class ModelRequests {
  /** Requests by status class since the last scrape (2xx, 4xx, 5xx). */
  private readonly pending = new Float64Array(REQUEST_CODES.length);
  /** Requests per latency bucket (not cumulative; the last one is over the largest bound). */
  readonly buckets = new Float64Array(REQUEST_BUCKETS.length + 1);
  sum = 0;
  count = 0;

  constructor(readonly model: string) {}

  /** One answered prediction request: its HTTP status and the time to answer it. */
  record(status: number, seconds: number): void {
    this.pending[status >= 500 ? 2 : status >= 400 ? 1 : 0]++;
    let bucket = 0;
    while (bucket < REQUEST_BUCKETS.length && seconds > REQUEST_BUCKETS[bucket]) bucket++;
    this.buckets[bucket]++;
    this.sum += seconds;
    this.count++;
  }

  /** Adds the requests counted since the last scrape to the counter (every status class, 0 included). */
  flush(target: Counter<'model' | 'code'>): void {
    for (let i = 0; i < REQUEST_CODES.length; i++) {
      target.inc({ model: this.model, code: REQUEST_CODES[i] }, this.pending[i]);
      this.pending[i] = 0;
    }
  }
}

/**
 * sepal_model_request_duration_seconds{model}: a histogram read from the models' tallies when Prometheus scrapes
 * (prom-client's Histogram offers no way to add bucket counts, only one observe per value).
 */
class ModelRequestHistogram {
  readonly name = HISTOGRAM;
  readonly help =
    'Time to answer a prediction request of a served model (any status), from the request to the answer.';
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly labelNames = ['model'];

  constructor(private readonly models: () => Iterable<ModelRequests>) {}

  /** What prom-client's registry reads from a metric: name, help, type and the sample lines. */
  get(): {
    name: string;
    help: string;
    type: string;
    aggregator: 'sum';
    values: MetricValueWithName<string>[];
  } {
    const values: MetricValueWithName<string>[] = [];
    for (const requests of this.models()) {
      const { model } = requests;
      let cumulative = 0;
      for (let i = 0; i <= REQUEST_BUCKETS.length; i++) {
        cumulative += requests.buckets[i];
        const le = i < REQUEST_BUCKETS.length ? REQUEST_BUCKETS[i] : '+Inf';
        values.push({ metricName: `${HISTOGRAM}_bucket`, labels: { model, le }, value: cumulative });
      }
      values.push({ metricName: `${HISTOGRAM}_sum`, labels: { model }, value: requests.sum });
      values.push({ metricName: `${HISTOGRAM}_count`, labels: { model }, value: requests.count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: 'sum', values };
  }

  /** The tallies are cumulative like any histogram; prom-client's resetMetrics has nothing to clear here. */
  reset(): void {}
}

/** sepal_model_request_duration_seconds over `models`, for the gateway's registry to register. */
export function modelRequestHistogram(models: () => Iterable<ModelRequests>): Metric {
  return new ModelRequestHistogram(models) as unknown as Metric;
}
