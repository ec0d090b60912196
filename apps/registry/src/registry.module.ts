import { brokerSettings } from '@sepal/config';
import { DynamicModule, Module } from '@nestjs/common';
import { MessagingModule, OutboxModule, DeadLetterMetricsModule } from '@sepal/messaging';
import { ObservabilityModule } from '@sepal/observability';
import { ArtifactsModule } from './artifacts/artifacts.module';
import { BatchJobsModule } from './batch/batch-jobs.module';
import { TrainingEventsModule } from './events/training-events.module';
import { JobsModule } from './jobs/jobs.module';
import { JOBS_QUEUE } from './jobs/jobs.consumer';
import { KeysModule } from './keys/keys.module';
import { GatesModule } from './gates/gates.module';
import { ModelsModule } from './models/models.module';
import { RegistryConfigValues } from './registry.config';
import { registryConfigModule, registryPersistence } from './registry.imports';
import { REGISTRY_SCHEMA } from './registry.schema';
import { RunsModule } from './runs/runs.module';
import { TrafficModule } from './traffic/traffic.module';

/**
 * The registry: experiments, runs, metrics, artifacts, models, versions, aliases and training jobs with their steps,
 * in the `registry` schema.
 */
@Module({})
export class RegistryModule {
  static forRoot(config: RegistryConfigValues): DynamicModule {
    return {
      module: RegistryModule,
      imports: [
        registryConfigModule(config),
        registryPersistence(config, 'sepal-registry'),
        MessagingModule.forRoot({
          ...brokerSettings(config),
          serviceName: 'registry',
          publishTimeoutMs: config.REGISTRY_PUBLISH_TIMEOUT_MS,
        }),
        OutboxModule.forSchema(REGISTRY_SCHEMA, config.REGISTRY_OUTBOX_INTERVAL_MS),
        ObservabilityModule.forRoot(),
        DeadLetterMetricsModule.forQueues(['registry.training', JOBS_QUEUE]),
        RunsModule,
        ArtifactsModule,
        ModelsModule,
        GatesModule,
        TrainingEventsModule,
        JobsModule,
        BatchJobsModule,
        KeysModule,
        TrafficModule,
      ],
    };
  }
}
