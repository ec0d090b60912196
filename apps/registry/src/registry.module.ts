import { DynamicModule, Module } from '@nestjs/common';
import { MessagingModule, OutboxModule, DeadLetterMetricsModule } from '@sepal/messaging';
import { ObservabilityModule } from '@sepal/observability';
import { PersistenceModule, resolveDatabaseTarget } from '@sepal/persistence';
import { ArtifactsModule } from './artifacts/artifacts.module';
import { TrainingEventsModule } from './events/training-events.module';
import { JobsModule } from './jobs/jobs.module';
import { JOBS_QUEUE } from './jobs/jobs.consumer';
import { CreateRegistrySchema1732500000000 } from './migrations/1732500000000-create-registry-schema';
import { CreateJobs1733100000000 } from './migrations/1733100000000-create-jobs';
import { EarlyRunEvents1733300000000 } from './migrations/1733300000000-early-run-events';
import { ModelsModule } from './models/models.module';
import { RegistryConfig, RegistryConfigValues } from './registry.config';
import { REGISTRY_SCHEMA } from './registry.schema';
import { RunsModule } from './runs/runs.module';

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
        {
          module: RegistryConfigModule,
          global: true,
          providers: [{ provide: RegistryConfig, useValue: config }],
          exports: [RegistryConfig],
        },
        PersistenceModule.forRoot({
          target: resolveDatabaseTarget(config.DATABASE_URL, config.SEPAL_HOME),
          schema: REGISTRY_SCHEMA,
          entities: [],
          migrations: [
            CreateRegistrySchema1732500000000,
            CreateJobs1733100000000,
            EarlyRunEvents1733300000000,
          ],
          applicationName: 'sepal-registry',
        }),
        MessagingModule.forRoot({
          amqpUrl: config.AMQP_URL,
          namespace: config.SEPAL_NAMESPACE,
          serviceName: 'registry',
          publishTimeoutMs: config.REGISTRY_PUBLISH_TIMEOUT_MS,
        }),
        OutboxModule.forSchema(REGISTRY_SCHEMA, config.REGISTRY_OUTBOX_INTERVAL_MS),
        ObservabilityModule.forRoot(),
        DeadLetterMetricsModule.forQueues(['registry.training', JOBS_QUEUE]),
        RunsModule,
        ArtifactsModule,
        ModelsModule,
        TrainingEventsModule,
        JobsModule,
      ],
    };
  }
}

@Module({})
class RegistryConfigModule {}
