import { register } from 'prom-client';
import { registerDataMetricsSource } from './data-metrics';
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

async function scrape(): Promise<string> {
  return register.metrics();
}

describe('data metrics', () => {
  const stops: (() => void)[] = [];
  afterEach(() => stops.splice(0).forEach((stop) => stop()));

  it('exposes the latest version rows per split and the feedback counts read from the source', async () => {
    const source = new StubSource({
      versions: [{ dataset: 'iris', versionId: ID_V1, trainRows: 120, testRows: 30 }],
      feedback: [
        { dataset: 'iris', received: 5, pending: 2 },
        { dataset: 'wine-quality', received: 0, pending: 0 },
      ],
    });
    stops.push(registerDataMetricsSource(source));
    const text = await scrape();
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

  it('drops the previous version once a newer one is the latest', async () => {
    const source = new StubSource({
      versions: [{ dataset: 'iris', versionId: ID_V1, trainRows: 120, testRows: 30 }],
      feedback: [],
    });
    stops.push(registerDataMetricsSource(source));
    await scrape();
    source.current = {
      versions: [{ dataset: 'iris', versionId: ID_V2, trainRows: 123, testRows: 31 }],
      feedback: [],
    };
    await new Promise((resolve) => setTimeout(resolve, 600));
    const text = await scrape();
    expect(text).not.toContain(ID_V1.slice(0, 12));
    expect(text).toContain(
      `sepal_dataset_rows{dataset="iris",version="${ID_V2.slice(0, 12)}",split="train"} 123`,
    );
  });

  it('counts the same database once when two sources read it, and survives a failing source', async () => {
    const snapshot: DataMetricsSnapshot = {
      versions: [],
      feedback: [{ dataset: 'iris', received: 7, pending: 1 }],
    };
    stops.push(registerDataMetricsSource(new StubSource(snapshot)));
    stops.push(registerDataMetricsSource(new StubSource(snapshot)));
    stops.push(registerDataMetricsSource(new StubSource(new Error('database closed'))));
    const text = await scrape();
    expect(text).toContain('sepal_feedback_received_total{dataset="iris"} 7');
    expect(text).toContain('sepal_feedback_pending{dataset="iris"} 1');
  });

  it('reports nothing once its sources are gone', async () => {
    const stop = registerDataMetricsSource(
      new StubSource({ versions: [], feedback: [{ dataset: 'iris', received: 3, pending: 3 }] }),
    );
    stop();
    expect(await scrape()).not.toContain('sepal_feedback_pending{');
  });
});
