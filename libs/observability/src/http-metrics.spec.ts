import { Registry } from 'prom-client';
import { registerHttpTally } from './http-metrics';

describe('registerHttpTally', () => {
  it('counts each answer once in its series and reads as prom-client would print a counter and a histogram', async () => {
    const register = new Registry();
    const tally = registerHttpTally(register);
    tally.record('POST', '/predict', 200, 0.0007);
    tally.record('POST', '/predict', 200, 0.003);
    const series = tally.of('POST', '/predict', 429);
    series.record(20);
    expect(tally.of('POST', '/predict', 429)).toBe(series);

    const requests = await register.getSingleMetricAsString('http_requests_total');
    expect(requests).toContain('# TYPE http_requests_total counter');
    expect(requests).toContain('http_requests_total{method="POST",route="/predict",status="200"} 2');
    expect(requests).toContain('http_requests_total{method="POST",route="/predict",status="429"} 1');
    const duration = await register.getSingleMetricAsString('http_request_duration_seconds');
    expect(duration).toContain('# TYPE http_request_duration_seconds histogram');
    for (const [le, count] of [
      ['0.0005', 0],
      ['0.001', 1],
      ['0.005', 2],
      ['10', 2],
      ['+Inf', 2],
    ] as const) {
      expect(duration).toContain(
        `http_request_duration_seconds_bucket{le="${le}",method="POST",route="/predict",status="200"} ${count}`,
      );
    }
    expect(duration).toContain(
      'http_request_duration_seconds_bucket{le="10",method="POST",route="/predict",status="429"} 0',
    );
    expect(duration).toContain(
      'http_request_duration_seconds_bucket{le="+Inf",method="POST",route="/predict",status="429"} 1',
    );
    expect(duration).toContain(
      'http_request_duration_seconds_count{method="POST",route="/predict",status="200"} 2',
    );
    expect(duration).toMatch(
      /http_request_duration_seconds_sum\{method="POST",route="\/predict",status="200"\} 0\.0037/,
    );
  });

  it('keeps one tally per registry: two apps in one process count their own answers', async () => {
    const first = new Registry();
    const second = new Registry();
    registerHttpTally(first).record('GET', '/a', 200, 0.001);
    registerHttpTally(second).record('GET', '/b', 200, 0.001);
    expect(await first.metrics()).not.toContain('route="/b"');
    expect(await second.metrics()).not.toContain('route="/a"');
  });
});
