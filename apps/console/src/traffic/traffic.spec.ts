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
      },
    ]);
    expect(view.history.map((h) => h.requestsPerSecond)).toEqual([1, 2]);
    // Last minute: 60 fast (<= 5 ms) of 118 answered; p99 falls in the (5 ms, 10 ms] bucket.
    expect(view.p99Ms).toBeGreaterThan(5);
    expect(view.p99Ms).toBeLessThanOrEqual(10);
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
