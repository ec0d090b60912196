import { InProcessBroker, InProcessEventBus } from '@sepal/messaging';
import { RunningJobs } from '../jobs/running-jobs.service';
import { trainerConfigSchema } from '../trainer.config';
import { QueuedTrialTrainer } from './queued-trial-trainer.service';
import type { PooledTrialTrainer, TrialRequest } from './trial-trainer.service';

describe('QueuedTrialTrainer', () => {
  // No replica consumes trainer.trials here (onApplicationBootstrap is not called): the trial is never answered.
  const unanswered = (env: Record<string, string>) => {
    const config = trainerConfigSchema.parse({ TRAINER_TRIALS: 'queue', ...env });
    const bus = new InProcessEventBus(
      { serviceName: 'trainer', namespace: 'queued_spec' },
      new InProcessBroker(),
    );
    const trainer = new QueuedTrialTrainer(config, bus, {} as PooledTrialTrainer, new RunningJobs());
    const request = { family: 'dense', params: {}, predictRows: [] } as unknown as TrialRequest;
    return { trainer, request };
  };

  it('fails a queued trial no replica reports within TRIAL_QUEUE_TIMEOUT_S, naming the setting', async () => {
    const { trainer, request } = unanswered({ TRIAL_QUEUE_TIMEOUT_S: '1' });
    await expect(trainer.train(request)).rejects.toThrow(/TRIAL_QUEUE_TIMEOUT_S=1/);
  });

  it('refuses a task over TRIAL_MESSAGE_MAX_BYTES before queueing it', async () => {
    const { trainer } = unanswered({ TRIAL_MESSAGE_MAX_BYTES: '1024' });
    const big = {
      family: 'dense',
      params: {},
      rows: 'x'.repeat(2048),
      predictRows: [],
    } as unknown as TrialRequest;
    await expect(trainer.train(big)).rejects.toThrow(/TRIAL_MESSAGE_MAX_BYTES/);
  });
});
