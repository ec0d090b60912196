import { brokerSettings } from '@sepal/config';
import { DynamicModule, Module } from '@nestjs/common';
import { TRIALS_QUEUE } from '@sepal/contracts';
import { MessagingModule, DeadLetterMetricsModule } from '@sepal/messaging';
import { ObservabilityModule } from '@sepal/observability';
import { BatchJobConsumer } from './batch/batch-job.consumer';
import { BatchJobRunner } from './batch/batch-job-runner.service';
import { BatchRegistryClient } from './batch/batch-registry-client';
import { DataClient } from './clients/data-client';
import { RegistryClient } from './clients/registry-client';
import { JobRunner } from './jobs/job-runner.service';
import { JobStatusStore } from './jobs/job-status.service';
import { TrainJobConsumer } from './jobs/train-job.consumer';
import { TrainController } from './jobs/train.controller';
import { TrainerMetrics } from './metrics/trainer-metrics.service';
import { JobPipeline, TrainingPipeline } from './pipeline/training-pipeline.service';
import { JobCancelConsumer } from './jobs/job-cancel.consumer';
import { RunningJobs } from './jobs/running-jobs.service';
import { GracefulStop } from './jobs/graceful-stop.service';
import { PooledTrialTrainer, TrialTrainer } from './workers/trial-trainer.service';
import { QueuedTrialTrainer } from './workers/queued-trial-trainer.service';
import {
  ChampionLookup,
  DatasetVersions,
  DataServiceVersions,
  RegistryChampionLookup,
} from './triggers/retrain-evidence.service';
import { RetrainTriggersConsumer } from './triggers/retrain-triggers.consumer';
import { TrainSchedule } from './triggers/train-schedule.service';
import { TrainerConfig, TrainerConfigValues } from './trainer.config';

/** The trainer: a stateless worker (no database) consuming trainer.jobs, plus POST /train and the retrain triggers. */
@Module({})
export class TrainerModule {
  static forRoot(config: TrainerConfigValues): DynamicModule {
    return {
      module: TrainerModule,
      imports: [
        {
          module: TrainerConfigModule,
          global: true,
          providers: [{ provide: TrainerConfig, useValue: config }],
          exports: [TrainerConfig],
        },
        // prefetch 1: a worker holds one job at a time, so the others take the rest of the queue.
        MessagingModule.forRoot({
          ...brokerSettings(config),
          serviceName: 'trainer',
          prefetch: 1,
        }),
        ObservabilityModule.forRoot(),
        DeadLetterMetricsModule.forQueues([
          'trainer.jobs',
          'trainer.batch-jobs',
          'trainer.retrain-policy',
          ...(config.TRAINER_TRIALS === 'queue' ? [TRIALS_QUEUE] : []),
        ]),
      ],
      controllers: [
        TrainController,
        TrainJobConsumer,
        RetrainTriggersConsumer,
        JobCancelConsumer,
        BatchJobConsumer,
      ],
      providers: [
        {
          provide: DataClient,
          useFactory: () => new DataClient(config.DATA_URL, config.DATA_RETRY_MS, config.SEPAL_API_KEY),
        },
        {
          provide: RegistryClient,
          useFactory: () =>
            new RegistryClient(config.REGISTRY_URL, config.REGISTRY_RETRY_MS, config.SEPAL_API_KEY),
        },
        {
          provide: BatchRegistryClient,
          useFactory: () =>
            new BatchRegistryClient(config.REGISTRY_URL, config.REGISTRY_RETRY_MS, config.SEPAL_API_KEY),
        },
        BatchJobRunner,
        JobStatusStore,
        RunningJobs,
        GracefulStop,
        PooledTrialTrainer,
        // TRAINER_TRIALS: this replica's worker threads, or the trials queue that every replica's workers share.
        ...(config.TRAINER_TRIALS === 'queue'
          ? [QueuedTrialTrainer, { provide: TrialTrainer, useExisting: QueuedTrialTrainer }]
          : [{ provide: TrialTrainer, useExisting: PooledTrialTrainer }]),
        { provide: JobPipeline, useClass: TrainingPipeline },
        JobRunner,
        TrainerMetrics,
        TrainSchedule,
        { provide: ChampionLookup, useClass: RegistryChampionLookup },
        { provide: DatasetVersions, useClass: DataServiceVersions },
      ],
    };
  }
}

@Module({})
class TrainerConfigModule {}
