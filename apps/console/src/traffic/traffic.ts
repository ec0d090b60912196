import { PromSample } from './prometheus-text';

/** Routes of the gateway that score rows: REST /predict (with or without a model) and OIP infer. */
export const isPredictionRoute = (route: string) =>
  /^\/predict(\/|$)|^\/v2\/models\/[^/]+\/infer$/.test(route);

/** What one /metrics scrape keeps: counters by a flat key. */
export interface TrafficSample {
  at: number;
  /** model -> class -> rows predicted (cumulative). */
  predictions: Record<string, Record<string, number>>;
  /** model -> version served (from sepal_model_info, or the latest version seen predicting). */
  versions: Record<string, string>;
  requests: number;
  errors: number;
  /** upper bound (le) -> cumulative count of prediction requests at or under it. */
  latencyBuckets: Record<string, number>;
  /** model -> its prediction requests (sepal_model_requests_total, sepal_model_request_duration_seconds). */
  modelRequests: Record<string, ModelRequestCounts>;
}

/** One model's cumulative request counters in a scrape. */
export interface ModelRequestCounts {
  requests: number;
  /** Answered 4xx or 5xx. */
  errors: number;
  latencyBuckets: Record<string, number>;
}

export interface ModelTraffic {
  model: string;
  version: string | null;
  predictionsPerClass: Record<string, number>;
  rowsPerSecond: number;
  /** Prediction requests of this model per second over the last minute (any status). */
  requestsPerSecond: number;
  /** 99th percentile of its request latency over the last minute; null without requests. */
  p99Ms: number | null;
  /** Its prediction requests and those answered 4xx/5xx over the window. */
  requests: number;
  errors: number;
}

export interface TrafficView {
  available: boolean;
  error: string | null;
  sampledAt: string | null;
  /** How much time the figures cover (up to the configured window, e.g. one hour). */
  windowSeconds: number;
  requestsPerSecond: number;
  p99Ms: number | null;
  requests: number;
  errors: number;
  models: ModelTraffic[];
  /** Prediction requests per second over time, for a sparkline. */
  history: { at: number; requestsPerSecond: number }[];
}

export function toTrafficSample(at: number, samples: PromSample[]): TrafficSample {
  const sample: TrafficSample = {
    at,
    predictions: {},
    versions: {},
    requests: 0,
    errors: 0,
    latencyBuckets: {},
    modelRequests: {},
  };
  const requestsOf = (model: string) =>
    (sample.modelRequests[model] ??= { requests: 0, errors: 0, latencyBuckets: {} });
  for (const { name, labels, value } of samples) {
    if (name === 'sepal_predictions_total') {
      const model = labels.model ?? 'unknown';
      const byClass = (sample.predictions[model] ??= {});
      byClass[labels.class ?? '?'] = (byClass[labels.class ?? '?'] ?? 0) + value;
      const version = labels.version;
      if (version && value > 0 && Number(version) >= Number(sample.versions[model] ?? 0))
        sample.versions[model] = version;
    } else if (name === 'sepal_model_info' && value === 1 && labels.model) {
      sample.versions[labels.model] = labels.version ?? '';
    } else if (name === 'sepal_model_requests_total' && labels.model) {
      const counts = requestsOf(labels.model);
      counts.requests += value;
      if (labels.code === '4xx' || labels.code === '5xx') counts.errors += value;
    } else if (name === 'sepal_model_request_duration_seconds_bucket' && labels.model) {
      const buckets = requestsOf(labels.model).latencyBuckets;
      const le = labels.le ?? '+Inf';
      buckets[le] = (buckets[le] ?? 0) + value;
    } else if (name === 'http_requests_total' && isPredictionRoute(labels.route ?? '')) {
      sample.requests += value;
      if (Number(labels.status) >= 400) sample.errors += value;
    } else if (name === 'http_request_duration_seconds_bucket' && isPredictionRoute(labels.route ?? '')) {
      const le = labels.le ?? '+Inf';
      sample.latencyBuckets[le] = (sample.latencyBuckets[le] ?? 0) + value;
    }
  }
  return sample;
}

/** A counter's increase; a restart (the value went down) counts from zero. */
const increase = (now: number, before: number | undefined) =>
  before === undefined || now < before ? now : now - before;

/** The q-quantile of the requests between two cumulative histograms, by linear interpolation in the bucket. */
export function histogramQuantile(
  q: number,
  now: Record<string, number>,
  before: Record<string, number> | undefined,
): number | null {
  const bounds = Object.keys(now)
    .map((le) => ({ le, upper: le === '+Inf' ? Infinity : Number(le) }))
    .sort((a, b) => a.upper - b.upper);
  const counts = bounds.map(({ le, upper }) => ({ upper, count: increase(now[le], before?.[le]) }));
  const total = counts.at(-1)?.count ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const { upper, count } of counts) {
    if (count >= rank) {
      if (upper === Infinity) return lower;
      const inBucket = count - below;
      return inBucket <= 0 ? upper : lower + ((upper - lower) * (rank - below)) / inBucket;
    }
    lower = upper;
    below = count;
  }
  return lower;
}

/** The sample taken closest to (at or before) `at`, else the oldest. */
function sampleAtOrBefore(samples: TrafficSample[], at: number): TrafficSample | undefined {
  let chosen: TrafficSample | undefined = samples[0];
  for (const sample of samples) if (sample.at <= at) chosen = sample;
  return chosen;
}

/**
 * Traffic over the samples kept: rates over the last `rateWindowMs`, counts over the whole window (the first sample
 * is the baseline, so a window shorter than an hour covers what the console has seen since it started).
 */
export function summariseTraffic(
  samples: TrafficSample[],
  rateWindowMs = 60_000,
): Omit<TrafficView, 'available' | 'error'> {
  const latest = samples.at(-1);
  const first = samples[0];
  if (!latest || !first) {
    return {
      sampledAt: null,
      windowSeconds: 0,
      requestsPerSecond: 0,
      p99Ms: null,
      requests: 0,
      errors: 0,
      models: [],
      history: [],
    };
  }
  const recent = sampleAtOrBefore(samples, latest.at - rateWindowMs) ?? first;
  const seconds = (latest.at - recent.at) / 1000;
  const baseline = samples.length > 1 ? first : undefined;
  const names = new Set([
    ...Object.keys(latest.predictions),
    ...Object.keys(latest.versions),
    ...Object.keys(latest.modelRequests),
  ]);
  const models = [...names].sort().map((model): ModelTraffic => {
    const requestsNow = latest.modelRequests[model];
    const requestsRecent = recent === latest ? undefined : recent.modelRequests[model];
    const requestsThen = baseline?.modelRequests[model];
    const p99 = requestsNow
      ? histogramQuantile(0.99, requestsNow.latencyBuckets, requestsRecent?.latencyBuckets)
      : null;
    const now = latest.predictions[model] ?? {};
    const then = baseline?.predictions[model] ?? {};
    const recentThen = recent.predictions[model] ?? {};
    const perClass: Record<string, number> = {};
    let recentRows = 0;
    for (const [label, value] of Object.entries(now)) {
      perClass[label] = increase(value, then[label]);
      recentRows += increase(value, recentThen[label]);
    }
    return {
      model,
      version: latest.versions[model] ?? null,
      predictionsPerClass: perClass,
      rowsPerSecond: seconds > 0 ? recentRows / seconds : 0,
      requestsPerSecond:
        seconds > 0 && requestsNow
          ? increase(requestsNow.requests, recent.modelRequests[model]?.requests ?? 0) / seconds
          : 0,
      p99Ms: p99 === null ? null : p99 * 1000,
      requests: requestsNow ? increase(requestsNow.requests, requestsThen?.requests) : 0,
      errors: requestsNow ? increase(requestsNow.errors, requestsThen?.errors) : 0,
    };
  });
  const p99 = histogramQuantile(
    0.99,
    latest.latencyBuckets,
    recent === latest ? undefined : recent.latencyBuckets,
  );
  const history = samples.slice(1).map((sample, i) => {
    const previous = samples[i];
    const dt = (sample.at - previous.at) / 1000;
    return {
      at: sample.at,
      requestsPerSecond: dt > 0 ? increase(sample.requests, previous.requests) / dt : 0,
    };
  });
  return {
    sampledAt: new Date(latest.at).toISOString(),
    windowSeconds: (latest.at - first.at) / 1000,
    requestsPerSecond: seconds > 0 ? increase(latest.requests, recent.requests) / seconds : 0,
    p99Ms: p99 === null ? null : p99 * 1000,
    requests: baseline ? increase(latest.requests, baseline.requests) : latest.requests,
    errors: baseline ? increase(latest.errors, baseline.errors) : latest.errors,
    models,
    history,
  };
}
