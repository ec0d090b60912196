import { register } from 'prom-client';
import { AppMetricsRegistry } from './app-metrics.registry';
import { counter, gauge, histogram } from './metric-factory';

class Owner {
  readonly requests = counter({ name: 'unit_owner_requests_total', help: 'h' });
  readonly depth = gauge({ name: 'unit_owner_depth', help: 'h' });
  readonly seconds = histogram({ name: 'unit_owner_seconds', help: 'h', buckets: [1] });
  readonly notAMetric = new Map<string, number>();
  readonly count = 3;
}

describe('AppMetricsRegistry', () => {
  it("registers every metric in an owner's fields, and nothing else", async () => {
    const registry = new AppMetricsRegistry();
    const owner = new Owner();
    registry.addMetricsOf(owner);
    owner.requests.inc(2);
    const names = registry.getMetricsAsArray().map((metric) => metric.name);
    expect(names.filter((name) => name.startsWith('unit_owner')).sort()).toEqual([
      'unit_owner_depth',
      'unit_owner_requests_total',
      'unit_owner_seconds',
    ]);
    expect(await registry.metrics()).toContain('unit_owner_requests_total 2');
    expect(register.getSingleMetric('unit_owner_requests_total')).toBeUndefined();
  });

  it("serves the app's metrics beside the process's", async () => {
    const registry = new AppMetricsRegistry();
    registry.addMetricsOf(new Owner());
    const processMetric = counter({ name: 'unit_process_total', help: 'h' });
    register.registerMetric(processMetric);
    try {
      const text = await registry.exposition();
      expect(text).toContain('unit_owner_depth');
      expect(text).toContain('unit_process_total');
    } finally {
      register.removeSingleMetric('unit_process_total');
    }
  });
});
