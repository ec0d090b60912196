import { Registry } from 'prom-client';
import { EventNames } from '@sepal/contracts';
import { InProcessBroker, InProcessEventBus } from '@sepal/messaging';
import { registerDeadLetterGauge } from '@sepal/messaging/dead-letter-metrics.module';
import { uniqueNamespace, waitFor } from '@sepal/testing';

describe('sepal_dead_letter_messages', () => {
  it('exposes the dead-letter count of each watched queue, read from the bus at scrape time', async () => {
    const bus = new InProcessEventBus(
      { namespace: uniqueNamespace('dlq'), serviceName: 'test', maxRetries: 0, retryDelayMs: 1 },
      new InProcessBroker(),
    );
    const subscription = await bus.subscribe(
      { queue: 'trainer.jobs', patterns: [EventNames.TrainRequested] },
      async () => {
        throw new Error('always fails');
      },
    );
    const register = new Registry();
    registerDeadLetterGauge(register, bus, ['trainer.jobs', 'data.feedback']);
    try {
      expect(await register.getSingleMetricAsString('sepal_dead_letter_messages')).toContain(
        'sepal_dead_letter_messages{queue="trainer.jobs"} 0',
      );
      await bus.publish(EventNames.TrainRequested, { dataset: 'iris' });
      await bus.publish(EventNames.TrainRequested, { dataset: 'iris' });
      await waitFor(async () => (await bus.deadLetterCount('trainer.jobs')) === 2);
      const text = await register.getSingleMetricAsString('sepal_dead_letter_messages');
      expect(text).toContain('sepal_dead_letter_messages{queue="trainer.jobs"} 2');
      expect(text).toContain('sepal_dead_letter_messages{queue="data.feedback"} 0');
    } finally {
      await subscription.close();
      await bus.close();
    }
    expect(await register.getSingleMetricAsString('sepal_dead_letter_messages')).not.toContain(
      'queue="trainer.jobs"',
    );
  });

  it('leaves out a bus that is closed instead of failing the scrape', async () => {
    const bus = new InProcessEventBus(
      { namespace: uniqueNamespace('dlq'), serviceName: 'test' },
      new InProcessBroker(),
    );
    const register = new Registry();
    registerDeadLetterGauge(register, bus, ['registry.training']);
    await bus.close();
    expect(await register.getSingleMetricAsString('sepal_dead_letter_messages')).not.toContain(
      'registry.training',
    );
  });
});
