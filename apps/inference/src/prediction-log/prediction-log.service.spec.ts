import { Logger } from '@nestjs/common';
import { expandLoggedPredictions, type PredictionsLogged } from '@sepal/contracts';
import type { EventBus } from '@sepal/messaging';
import { AppMetricsRegistry } from '@sepal/observability';
import { InferenceConfig } from '../inference.config';
import { modelInfo } from '../../test/fakes';
import { createSignature } from '../predict/model-signature';
import { predictionIds } from './prediction-id';
import { PredictionLog } from './prediction-log.service';

const info = modelInfo({ version: 2 });
const signature = createSignature(['a', 'b'], ['no', 'yes']);

/** A bus that records what it is given, or fails while `down`. */
class RecordingBus {
  down = false;
  readonly sent: PredictionsLogged[] = [];
  async publish(_type: string, payload: PredictionsLogged): Promise<string> {
    if (this.down) throw new Error('broker unreachable');
    this.sent.push(payload);
    return 'id';
  }
}

function setup(env: Record<string, string> = {}) {
  const config = InferenceConfig.load({
    REGISTRY_URL: 'http://registry.test',
    PREDICTION_LOG_SAMPLE: '1',
    ...env,
  });
  const bus = new RecordingBus();
  const metrics = new AppMetricsRegistry();
  const log = new PredictionLog(config, bus as unknown as EventBus, metrics);
  const record = (rows: number) =>
    log.record({
      info,
      signature,
      parsed: { rows, data: new Float32Array(Array.from({ length: rows * 2 }, (_, i) => i)) },
      output: {
        probabilities: new Float32Array(rows * 2).map((_, i) => (i % 2 ? 0.75 : 0.25)),
        labels: new Int32Array(rows).fill(1),
      },
      ids: predictionIds(rows),
      latencyMs: 1.5,
      keyName: 'reader',
    });
  const dropped = async (reason: string): Promise<number> => {
    const metric = await metrics.getSingleMetric('sepal_prediction_log_dropped_rows_total')?.get();
    return metric?.values.find((value) => value.labels.reason === reason)?.value ?? 0;
  };
  return { log, bus, record, dropped };
}

function rowsOf(event: PredictionsLogged): number {
  return event.groups.reduce((sum, group) => sum + group.predictionIds.length, 0);
}

describe('PredictionLog', () => {
  beforeEach(() => jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined));
  afterEach(() => jest.restoreAllMocks());

  it('ships sampled rows as predictions.logged records: inputs by name, the class answered, key and latency', async () => {
    const { log, bus, record } = setup();
    record(2);
    expect(bus.sent).toHaveLength(0); // nothing is sent on the request path
    await log.flush();
    expect(bus.sent).toHaveLength(1);
    const [first, second] = expandLoggedPredictions(bus.sent[0]);
    expect(first).toMatchObject({
      model: 'M',
      version: 2,
      sha256: 'a'.repeat(64),
      inputs: { a: 0, b: 1 },
      output: { class: 'yes', probabilities: { no: 0.25, yes: 0.75 } },
      latencyMs: 1.5,
      keyName: 'reader',
    });
    expect(second.inputs).toEqual({ a: 2, b: 3 });
    expect(first.predictionId).not.toBe(second.predictionId);
  });

  it('logs float32 inputs as the decimals the caller sent, and a missing one as null', async () => {
    const { log, bus } = setup();
    log.record({
      info,
      signature,
      parsed: { rows: 2, data: new Float32Array([5.1, 0.2, 123456.7, Number.NaN]) },
      output: { probabilities: new Float32Array([0.5, 0.5, 0.5, 0.5]), labels: new Int32Array([0, 1]) },
      ids: predictionIds(2),
      latencyMs: 1,
      keyName: null,
    });
    await log.flush();
    expect(expandLoggedPredictions(bus.sent[0]).map((r) => r.inputs)).toEqual([
      { a: 5.1, b: 0.2 },
      { a: 123456.7, b: null },
    ]);
  });

  it('ships in events of at most PREDICTION_LOG_BATCH rows', async () => {
    const { log, bus, record } = setup({ PREDICTION_LOG_BATCH: '3' });
    for (let i = 0; i < 4; i++) record(2);
    await log.flush();
    expect(bus.sent.map((event) => rowsOf(event))).toEqual([3, 3, 2]);
    record(5);
    await log.flush();
    expect(bus.sent.slice(3).map((event) => rowsOf(event))).toEqual([3, 2]);
    expect(bus.sent.flatMap(expandLoggedPredictions)).toHaveLength(13);
  });

  it('drops and counts what does not fit the queue, without blocking or throwing', async () => {
    const { log, bus, record, dropped } = setup({ PREDICTION_LOG_QUEUE: '5' });
    expect(await dropped('queue_full')).toBe(0);
    record(3);
    record(3); // does not fit
    record(2);
    expect(log.queuedRows).toBe(5);
    expect(await dropped('queue_full')).toBe(3);
    await log.flush();
    expect(bus.sent.flatMap(expandLoggedPredictions)).toHaveLength(5);
  });

  it('counts the rows of a flush the bus refuses as dropped, and carries on once it is back', async () => {
    const { log, bus, record, dropped } = setup();
    bus.down = true;
    record(4);
    await expect(log.flush()).resolves.toBeUndefined();
    expect(await dropped('bus')).toBe(4);
    bus.down = false;
    record(1);
    await log.flush();
    expect(bus.sent.flatMap(expandLoggedPredictions)).toHaveLength(1);
  });

  it('samples per request: 0 logs nothing', async () => {
    const { log, record } = setup({ PREDICTION_LOG_SAMPLE: '0' });
    for (let i = 0; i < 100; i++) record(1);
    expect(log.queuedRows).toBe(0);
  });
});
