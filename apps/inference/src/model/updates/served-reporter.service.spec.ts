import { Logger } from '@nestjs/common';
import { modelServedSchema } from '@sepal/contracts';
import { FakeServedPublisher, MODEL, modelInfo, servedReports } from '../../../test/fakes';
import { InferenceConfig } from '../../inference.config';
import { InferenceMetrics } from '../../metrics/inference-metrics.service';
import type { ModelInfo } from '../loading/loaded-model';
import { ServedReporter } from './served-reporter.service';

const model = (version: number): ModelInfo =>
  modelInfo({ name: MODEL, version, sha256: String(version % 10).repeat(64), size: 100 });

/** A promise and the function that settles it, for holding a publication like a slow broker. */
function held() {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  return { gate, release };
}

describe('ServedReporter', () => {
  let publisher: FakeServedPublisher;
  let reporter: ServedReporter;
  const metrics = new InferenceMetrics();
  let warnings: string[];

  function setUp(env: Record<string, string> = {}) {
    publisher = new FakeServedPublisher();
    reporter = new ServedReporter(
      InferenceConfig.load({ INFERENCE_REPLICA_ID: 'gw-a:3000', ...env }),
      publisher,
      metrics,
    );
  }

  beforeEach(() => {
    warnings = [];
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    jest
      .spyOn(Logger.prototype, 'warn')
      .mockImplementation((message: unknown) => void warnings.push(String(message)));
    setUp();
  });
  afterEach(() => jest.restoreAllMocks());

  it('publishes model.served for the version with this replica id, valid against the contract, and counts it', async () => {
    const before = await servedReports(metrics, 'success');
    const started = Date.now();
    reporter.report(model(3));
    await reporter.settled();
    expect(publisher.published).toHaveLength(1);
    const [{ messageId, ...event }] = publisher.published;
    expect(modelServedSchema.parse(event)).toEqual({
      modelName: MODEL,
      version: 3,
      sha256: '3'.repeat(64),
      replica: 'gw-a:3000',
      at: event.at,
    });
    expect(Date.parse(event.at)).toBeGreaterThanOrEqual(started - 1);
    expect(messageId).toMatch(/^[0-9a-f-]{36}$/);
    expect(await servedReports(metrics, 'success')).toBe(before + 1);
  });

  it('returns at once: a broker that does not answer holds nothing but the publication', async () => {
    const { gate, release } = held();
    publisher.gate = gate;
    reporter.report(model(1));
    await new Promise((resolve) => setImmediate(resolve));
    expect(publisher.attempts).toHaveLength(1);
    expect(publisher.published).toEqual([]);
    release();
    await reporter.settled();
    expect(publisher.published.map((e) => e.version)).toEqual([1]);
  });

  it('logs and counts a failed publication, and sends the same announcement again on retryUnannounced', async () => {
    const failuresBefore = await servedReports(metrics, 'failure');
    publisher.failure = new Error('broker unreachable');
    reporter.report(model(2));
    await reporter.settled();
    expect(await servedReports(metrics, 'failure')).toBe(failuresBefore + 1);
    expect(warnings).toEqual([
      'model.served IrisModel v2 could not be published (broker unreachable); the model is served all the same. ' +
        'It is sent again at the next champion check (MODEL_SYNC_INTERVAL_MS=30000) or on POST /admin/reload.',
    ]);

    publisher.failure = null;
    reporter.retryUnannounced();
    await reporter.settled();
    expect(publisher.attempts).toHaveLength(2);
    expect(publisher.published.map((e) => e.version)).toEqual([2]);
    // Announced now: nothing left to send again.
    reporter.retryUnannounced();
    await reporter.settled();
    expect(publisher.attempts).toHaveLength(2);
  });

  it('sends an announcement again with the id and time of its first attempt', async () => {
    publisher.failure = new Error('not confirmed within 10000 ms');
    reporter.report(model(2));
    await reporter.settled();
    await new Promise((resolve) => setTimeout(resolve, 5));
    publisher.failure = null;
    reporter.retryUnannounced();
    await reporter.settled();
    const [first, again] = publisher.attempts;
    expect(again).toEqual(first);
    expect(publisher.published).toEqual([first]);
    // A version swapped in later is a new announcement.
    reporter.report(model(3));
    await reporter.settled();
    expect(publisher.published[1].messageId).not.toBe(first.messageId);
  });

  it('announces again only the version still served: a failed one replaced by a newer one is dropped', async () => {
    const { gate, release } = held();
    publisher.gate = gate;
    publisher.failure = new Error('broker unreachable');
    reporter.report(model(1));
    reporter.report(model(2));
    release();
    await reporter.settled();
    publisher.gate = null;
    publisher.failure = null;
    reporter.retryUnannounced();
    await reporter.settled();
    expect(publisher.published.map((e) => e.version)).toEqual([2]);
  });

  it('says that nothing retries by itself when the periodic champion check is off', async () => {
    setUp({ MODEL_SYNC_INTERVAL_MS: '0' });
    publisher.failure = new Error('broker unreachable');
    reporter.report(model(1));
    await reporter.settled();
    expect(warnings[0]).toMatch(
      /POST \/admin\/reload sends it again once the broker is reachable \(MODEL_SYNC_INTERVAL_MS=0: no periodic retry\)\.$/,
    );
  });
});
