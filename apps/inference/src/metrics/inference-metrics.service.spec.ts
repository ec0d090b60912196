import { register } from 'prom-client';
import { AppMetricsRegistry } from '@sepal/observability';
import { modelInfo } from '../../test/fakes';
import type { ModelInfo } from '../model/loading/loaded-model';
import { InferenceMetrics } from './inference-metrics.service';

const info = (name: string, version: number): ModelInfo =>
  modelInfo({ name, version, sha256: 'f'.repeat(64), size: 10 });

describe('InferenceMetrics', () => {
  it('keeps its tallies to itself: two gateways in one process report their own models', async () => {
    const first = new InferenceMetrics();
    const second = new InferenceMetrics();
    first.tally(info('unit-first', 1), ['a', 'b']).add(1);
    second.tally(info('unit-second', 4), ['a']).add(0);
    first.requestsOf('unit-first').record(200, 0.001);

    const firstText = await first.registry.metrics();
    const secondText = await second.registry.metrics();
    expect(firstText).toContain('sepal_predictions_total{model="unit-first",version="1",class="b"} 1');
    expect(firstText).toContain('sepal_loaded_models 1');
    expect(firstText).not.toContain('unit-second');
    expect(secondText).toContain('sepal_predictions_total{model="unit-second",version="4",class="a"} 1');
    expect(secondText).not.toContain('unit-first');
    expect(secondText).toContain('sepal_model_requests_total');
    expect(secondText).not.toMatch(/sepal_model_requests_total\{model="unit-first"/);
  });

  it('registers nothing in the process-wide registry (each app serves its own beside it)', async () => {
    const metrics = new InferenceMetrics();
    metrics.tally(info('unit-own', 2), ['a']).add(0);
    expect(register.getSingleMetric('sepal_predictions_total')).toBeUndefined();
    expect(register.getSingleMetric('sepal_model_request_duration_seconds')).toBeUndefined();
  });

  it('is served with the process metrics by the app registry it is given', async () => {
    const registry = new AppMetricsRegistry();
    const metrics = new InferenceMetrics(registry);
    metrics.tally(info('unit-app', 3), ['x']).add(0);
    const text = await registry.exposition();
    expect(text).toContain('sepal_predictions_total{model="unit-app",version="3",class="x"} 1');
    expect(text).toContain('sepal_model_reloads_total{result="failure"} 0');
  });

  it('forgets a retired version after adding its last counts', async () => {
    const metrics = new InferenceMetrics();
    const tally = metrics.tally(info('unit-retired', 5), ['a']);
    tally.add(0);
    tally.add(0);
    metrics.dropTally(tally);
    const text = await metrics.registry.metrics();
    expect(text).toContain('sepal_predictions_total{model="unit-retired",version="5",class="a"} 2');
    expect(text).toContain('sepal_loaded_models 0');
  });
});
