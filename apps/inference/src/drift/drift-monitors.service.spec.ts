import { Logger } from '@nestjs/common';
import type { EventBus } from '@sepal/messaging';
import { fitPsiReference } from '@sepal/ml';
import { InferenceConfig } from '../inference.config';
import { InferenceMetrics } from '../metrics/inference-metrics.service';
import { DriftMonitors } from './drift-monitors.service';

const config = InferenceConfig.load({ DRIFT_MIN_ROWS: '10', DRIFT_EVAL_INTERVAL_MS: '60000' });
const reference = [fitPsiReference([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 4)];

async function gaugeSeries(metrics: InferenceMetrics, version: string) {
  const metric = await metrics.registry.getSingleMetric('sepal_feature_drift_psi')!.get();
  return metric.values.filter((v) => v.labels.version === version);
}

describe('DriftMonitors', () => {
  const published: unknown[] = [];
  const bus = {
    publish: async (type: string, payload: unknown) => {
      published.push({ type, payload });
      return 'id';
    },
  } as unknown as EventBus;
  const metrics = new InferenceMetrics();
  const monitors = new DriftMonitors(config, metrics, bus);

  beforeEach(() => jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined));
  afterEach(() => jest.restoreAllMocks());

  it('exports the PSI gauge of a model with a reference once the window holds DRIFT_MIN_ROWS rows', async () => {
    const monitor = monitors.create({ name: 'M', version: 901, featureNames: ['x'] }, reference)!;
    monitor.record(new Float32Array(9).fill(100), 9);
    expect(await gaugeSeries(metrics, '901')).toEqual([]);
    monitor.record(new Float32Array([100]), 1);
    const [series] = await gaugeSeries(metrics, '901');
    expect(series.labels).toEqual({ model: 'M', version: '901', feature: 'x' });
    expect(series.value).toBeGreaterThan(0.2);
    await new Promise((resolve) => setImmediate(resolve));
    expect(published).toEqual([
      {
        type: 'drift.detected',
        payload: expect.objectContaining({ modelName: 'M', version: 901, threshold: 0.2 }),
      },
    ]);
    monitor.stop();
    expect(await gaugeSeries(metrics, '901')).toEqual([]);
  });

  it('creates no monitor (and no gauge) for a model without a reference, and says so once', async () => {
    const log = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    try {
      expect(monitors.create({ name: 'M', version: 902, featureNames: ['x'] }, null)).toBeNull();
      expect(log).toHaveBeenCalledTimes(1);
      expect(log.mock.calls[0][0]).toMatch(/M v902: no drift monitoring .*no 'feature_reference'/);
      expect(await gaugeSeries(metrics, '902')).toEqual([]);
    } finally {
      log.mockRestore();
    }
  });
});
