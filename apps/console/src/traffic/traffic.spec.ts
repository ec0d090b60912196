import { parsePrometheusText } from './prometheus-text';
import { histogramQuantile, summariseTraffic, toTrafficSample } from './traffic';

const scrape = (requests: number, errors: number, setosa: number, fast: number) => `
# HELP http_requests_total HTTP requests answered.
# TYPE http_requests_total counter
http_requests_total{method="POST",route="/predict",status="200"} ${requests - errors}
http_requests_total{method="POST",route="/predict",status="400"} ${errors}
http_requests_total{method="GET",route="/model",status="200"} 99
http_request_duration_seconds_bucket{method="POST",route="/predict",status="200",le="0.005"} ${fast}
http_request_duration_seconds_bucket{method="POST",route="/predict",status="200",le="0.01"} ${requests - errors}
http_request_duration_seconds_bucket{method="POST",route="/predict",status="200",le="+Inf"} ${requests - errors}
sepal_predictions_total{model="IrisModel",version="2",class="Iris-setosa"} ${setosa}
sepal_predictions_total{model="IrisModel",version="2",class="Iris \\"odd\\" class"} 1
sepal_model_info{model="IrisModel",version="2",sha256="abc"} 1
`;

/** Two models' request series: iris answers `iris` requests (`irisErrors` of them 400), wine `wine`. */
const perModel = (iris: number, irisErrors: number, irisFast: number, wine: number) => `
sepal_model_requests_total{model="IrisModel",code="2xx"} ${iris - irisErrors}
sepal_model_requests_total{model="IrisModel",code="4xx"} ${irisErrors}
sepal_model_requests_total{model="IrisModel",code="5xx"} 0
sepal_model_requests_total{model="WineQuality",code="2xx"} ${wine}
sepal_model_requests_total{model="WineQuality",code="4xx"} 0
sepal_model_requests_total{model="WineQuality",code="5xx"} 0
sepal_model_request_duration_seconds_bucket{model="IrisModel",le="0.001"} ${irisFast}
sepal_model_request_duration_seconds_bucket{model="IrisModel",le="0.01"} ${iris}
sepal_model_request_duration_seconds_bucket{model="IrisModel",le="+Inf"} ${iris}
sepal_model_request_duration_seconds_count{model="IrisModel"} ${iris}
sepal_model_request_duration_seconds_bucket{model="WineQuality",le="0.001"} ${wine}
sepal_model_request_duration_seconds_bucket{model="WineQuality",le="0.01"} ${wine}
sepal_model_request_duration_seconds_bucket{model="WineQuality",le="+Inf"} ${wine}
`;

describe('gateway traffic from sampled /metrics', () => {
  it('parses samples with escaped label values and skips comments', () => {
    const samples = parsePrometheusText(scrape(10, 1, 5, 3));
    expect(samples).toContainEqual({
      name: 'sepal_predictions_total',
      labels: { model: 'IrisModel', version: '2', class: 'Iris "odd" class' },
      value: 1,
    });
    expect(samples.some((s) => s.name.startsWith('#'))).toBe(false);
  });

  it('counts prediction routes only, rates over the last minute and counts over the window', () => {
    const at = (seconds: number) => 1_000_000 + seconds * 1000;
    const samples = [
      toTrafficSample(at(0), parsePrometheusText(scrape(10, 1, 5, 3))),
      toTrafficSample(at(60), parsePrometheusText(scrape(70, 3, 25, 33))),
      toTrafficSample(at(120), parsePrometheusText(scrape(190, 5, 85, 93))),
    ];
    const view = summariseTraffic(samples);
    expect(view.windowSeconds).toBe(120);
    expect(view.requestsPerSecond).toBe(2); // 120 requests in the last 60 s
    expect(view.requests).toBe(180);
    expect(view.errors).toBe(4);
    expect(view.models).toEqual([
      {
        model: 'IrisModel',
        version: '2',
        predictionsPerClass: { 'Iris-setosa': 80, 'Iris "odd" class': 0 },
        rowsPerSecond: 1,
        requestsPerSecond: 0,
        p99Ms: null,
        requests: 0,
        errors: 0,
      },
    ]);
    expect(view.history.map((h) => h.requestsPerSecond)).toEqual([1, 2]);
    // Last minute: 60 fast (<= 5 ms) of 118 answered; p99 falls in the (5 ms, 10 ms] bucket.
    expect(view.p99Ms).toBeGreaterThan(5);
    expect(view.p99Ms).toBeLessThanOrEqual(10);
  });

  it('rates, p99 and errors per model from sepal_model_requests_total and its latency histogram', () => {
    const at = (seconds: number) => seconds * 1000;
    const samples = [
      toTrafficSample(at(0), parsePrometheusText(scrape(10, 1, 5, 3) + perModel(10, 1, 10, 0))),
      toTrafficSample(at(60), parsePrometheusText(scrape(70, 3, 25, 33) + perModel(40, 2, 40, 30))),
      toTrafficSample(at(120), parsePrometheusText(scrape(190, 5, 85, 93) + perModel(160, 6, 100, 60))),
    ];
    const view = summariseTraffic(samples);
    const iris = view.models.find((m) => m.model === 'IrisModel')!;
    const wine = view.models.find((m) => m.model === 'WineQuality')!;
    expect(view.models.map((m) => m.model)).toEqual(['IrisModel', 'WineQuality']);
    // Last minute: iris 120 requests, 60 of them over 1 ms; p99 in (1 ms, 10 ms].
    expect(iris).toMatchObject({ requestsPerSecond: 2, requests: 150, errors: 5, version: '2' });
    expect(iris.p99Ms).toBeGreaterThan(1);
    expect(iris.p99Ms).toBeLessThanOrEqual(10);
    // Wine: 30 requests in the last minute, all under 1 ms, no prediction rows counted yet.
    expect(wine).toMatchObject({ requestsPerSecond: 0.5, requests: 60, errors: 0, predictionsPerClass: {} });
    expect(wine.p99Ms).toBeGreaterThan(0);
    expect(wine.p99Ms).toBeLessThanOrEqual(1);
  });

  it('treats a counter that went down as a restart, not a negative count', () => {
    const samples = [
      toTrafficSample(0, parsePrometheusText(scrape(100, 0, 50, 100))),
      toTrafficSample(60_000, parsePrometheusText(scrape(6, 0, 2, 6))),
    ];
    const view = summariseTraffic(samples);
    expect(view.requests).toBe(6);
    expect(view.models[0].predictionsPerClass['Iris-setosa']).toBe(2);
  });

  it('has no quantile without requests, and interpolates inside a bucket', () => {
    expect(histogramQuantile(0.99, { '0.1': 0, '+Inf': 0 }, undefined)).toBeNull();
    expect(histogramQuantile(0.5, { '1': 0, '2': 10, '+Inf': 10 }, undefined)).toBeCloseTo(1.5);
  });

  it('is empty before the first sample', () => {
    expect(summariseTraffic([])).toMatchObject({ sampledAt: null, requests: 0, models: [] });
  });
});
