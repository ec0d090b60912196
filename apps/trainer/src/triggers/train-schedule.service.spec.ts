import { Logger } from '@nestjs/common';
import { EventNames } from '@sepal/contracts';
import { RecordingEventBus } from '../../test/support/fakes';
import { TrainerConfig } from '../trainer.config';
import { TrainSchedule } from './train-schedule.service';

function schedule(env: NodeJS.ProcessEnv) {
  const bus = new RecordingEventBus();
  return { bus, schedule: new TrainSchedule(bus, TrainerConfig.load(env)) };
}

describe('TrainSchedule', () => {
  beforeAll(() => Logger.overrideLogger(false));
  afterEach(() => jest.useRealTimers());

  it("requests a retrain of SCHEDULE_DATASET's latest version every TRAIN_SCHEDULE_MINUTES", async () => {
    jest.useFakeTimers();
    const { bus, schedule: timer } = schedule({ TRAIN_SCHEDULE_MINUTES: '5', SCHEDULE_DATASET: 'wine' });
    timer.onApplicationBootstrap();
    await jest.advanceTimersByTimeAsync(4 * 60_000);
    expect(bus.envelopes).toEqual([]);
    await jest.advanceTimersByTimeAsync(6 * 60_000);
    const requested = { dataset: 'wine', reason: 'schedule', requestedBy: 'schedule' };
    expect(bus.of(EventNames.TrainRequested).map((e) => e.payload)).toEqual([
      expect.objectContaining(requested),
      expect.objectContaining(requested),
    ]);
    timer.onApplicationShutdown();
    await jest.advanceTimersByTimeAsync(10 * 60_000);
    expect(bus.envelopes).toHaveLength(2);
  });

  it('requests nothing when TRAIN_SCHEDULE_MINUTES is 0', async () => {
    jest.useFakeTimers();
    const { bus, schedule: timer } = schedule({ TRAIN_SCHEDULE_MINUTES: '0' });
    timer.onApplicationBootstrap();
    await jest.advanceTimersByTimeAsync(24 * 60 * 60_000);
    expect(bus.envelopes).toEqual([]);
  });

  it('skips a request the broker does not take, and keeps going', async () => {
    const { bus, schedule: timer } = schedule({ TRAIN_SCHEDULE_MINUTES: '1' });
    bus.failure = new Error('channel closed');
    await expect(timer.fire()).resolves.toBeUndefined();
    bus.failure = undefined;
    await expect(timer.fire()).resolves.toBe(bus.envelopes[0].messageId);
  });
});
