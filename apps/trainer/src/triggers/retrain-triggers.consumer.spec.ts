import { EventEnvelope, EventName, EventNames } from '@sepal/contracts';
import { EventBus } from '@sepal/messaging';
import { TrainerConfig } from '../trainer.config';
import { RetrainTriggersConsumer } from './retrain-triggers.consumer';

/** Records what the consumer publishes instead of sending it. */
class RecordingBus {
  readonly published: { type: EventName; payload: unknown; correlationId?: string }[] = [];
  async publish(type: EventName, payload: unknown, options?: { correlationId?: string }): Promise<string> {
    this.published.push({ type, payload, correlationId: options?.correlationId });
    return 'id';
  }
}

const envelope = <N extends EventName>(type: N, payload: unknown): EventEnvelope<N> =>
  ({
    messageId: 'm',
    type,
    timestamp: new Date().toISOString(),
    correlationId: 'corr-1',
    payload,
  }) as EventEnvelope<N>;

const versioned = (reason: string) =>
  envelope(EventNames.DatasetVersioned, { dataset: 'iris', version: 'a'.repeat(64), reason });

function consumer(env: NodeJS.ProcessEnv = {}) {
  const bus = new RecordingBus();
  return { bus, triggers: new RetrainTriggersConsumer(bus as unknown as EventBus, TrainerConfig.load(env)) };
}

describe('RetrainTriggersConsumer', () => {
  it('requests a retrain of a feedback version, traced to its cause', async () => {
    const { bus, triggers } = consumer();
    await triggers.onDatasetVersioned(versioned('feedback'));
    expect(bus.published).toEqual([
      {
        type: EventNames.TrainRequested,
        payload: {
          dataset: 'iris',
          version: 'a'.repeat(64),
          reason: 'feedback',
          requestedBy: 'retrain-policy',
        },
        correlationId: 'corr-1',
      },
    ]);
  });

  it('ignores imports, and feedback versions when RETRAIN_ON_FEEDBACK is false', async () => {
    const { bus, triggers } = consumer();
    await triggers.onDatasetVersioned(versioned('import'));
    const off = consumer({ RETRAIN_ON_FEEDBACK: 'false' });
    await off.triggers.onDatasetVersioned(versioned('feedback'));
    expect(bus.published).toEqual([]);
    expect(off.bus.published).toEqual([]);
  });

  it('retrains the dataset of a drifting model, by default naming or by DRIFT_DATASETS', async () => {
    const drift = envelope(EventNames.DriftDetected, { modelName: 'IrisModel', version: 3 });
    const { bus, triggers } = consumer();
    await triggers.onDriftDetected(drift);
    expect(bus.published[0].payload).toMatchObject({
      dataset: 'iris',
      modelName: 'IrisModel',
      reason: 'drift',
    });
    const mapped = consumer({ DRIFT_DATASETS: 'IrisModel=iris-v2' });
    await mapped.triggers.onDriftDetected(drift);
    expect(mapped.bus.published[0].payload).toMatchObject({ dataset: 'iris-v2' });
    const off = consumer({ RETRAIN_ON_DRIFT: 'false' });
    await off.triggers.onDriftDetected(drift);
    expect(off.bus.published).toEqual([]);
  });
});
