import { Logger } from '@nestjs/common';
import { AppMetricsRegistry } from '@sepal/observability';
import { DataMetrics } from './data-metrics.service';
import { DataMetricsSnapshot, DataMetricsSource } from './data-metrics.repository';

const ID_V1 = 'a'.repeat(64);
const ID_V2 = 'b'.repeat(64);

class StubSource implements DataMetricsSource {
  reads = 0;
  constructor(public current: DataMetricsSnapshot | Error) {}
  async snapshot(): Promise<DataMetricsSnapshot> {
    this.reads++;
    if (this.current instanceof Error) throw this.current;
    return this.current;
  }
}

function metricsOf(source: DataMetricsSource): AppMetricsRegistry {
  const registry = new AppMetricsRegistry();
  new DataMetrics(source, registry);
  return registry;
}

describe('data metrics', () => {
  afterEach(() => jest.restoreAllMocks());

  it('exposes the latest version rows per split and the feedback counts read from the source', async () => {
    const source = new StubSource({
      versions: [{ dataset: 'iris', versionId: ID_V1, trainRows: 120, testRows: 30 }],
      feedback: [
        { dataset: 'iris', received: 5, pending: 2 },
        { dataset: 'wine-quality', received: 0, pending: 0 },
      ],
    });
    const text = await metricsOf(source).metrics();
    expect(text).toContain(
      `sepal_dataset_rows{dataset="iris",version="${ID_V1.slice(0, 12)}",split="train"} 120`,
    );
    expect(text).toContain(
      `sepal_dataset_rows{dataset="iris",version="${ID_V1.slice(0, 12)}",split="test"} 30`,
    );
    expect(text).toContain('# TYPE sepal_feedback_received_total counter');
    expect(text).toContain('sepal_feedback_received_total{dataset="iris"} 5');
    expect(text).toContain('sepal_feedback_received_total{dataset="wine-quality"} 0');
    expect(text).toContain('sepal_feedback_pending{dataset="iris"} 2');
    expect(source.reads).toBe(1); // one database round for the three metrics of a scrape
  });

  it('reads the source again at the next scrape and drops the previous version once a newer one is the latest', async () => {
    const source = new StubSource({
      versions: [{ dataset: 'iris', versionId: ID_V1, trainRows: 120, testRows: 30 }],
      feedback: [],
    });
    const registry = metricsOf(source);
    await registry.metrics();
    source.current = {
      versions: [{ dataset: 'iris', versionId: ID_V2, trainRows: 123, testRows: 31 }],
      feedback: [],
    };
    const text = await registry.metrics();
    expect(source.reads).toBe(2);
    expect(text).not.toContain(ID_V1.slice(0, 12));
    expect(text).toContain(
      `sepal_dataset_rows{dataset="iris",version="${ID_V2.slice(0, 12)}",split="train"} 123`,
    );
  });

  it('reports no series, and warns, when the source fails', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const text = await metricsOf(new StubSource(new Error('database closed'))).metrics();
    expect(text).not.toContain('sepal_feedback_pending{');
    expect(text).toContain('# TYPE sepal_dataset_rows gauge');
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('database closed'));
  });

  it('keeps two data apps in one process apart', async () => {
    const first = metricsOf(
      new StubSource({ versions: [], feedback: [{ dataset: 'a', received: 1, pending: 0 }] }),
    );
    const second = metricsOf(
      new StubSource({ versions: [], feedback: [{ dataset: 'b', received: 2, pending: 0 }] }),
    );
    expect(await first.metrics()).not.toContain('dataset="b"');
    expect(await second.metrics()).toContain('sepal_feedback_received_total{dataset="b"} 2');
  });
});
