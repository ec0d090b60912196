import { brokerSettings } from '@sepal/config';
import { DynamicModule, Module } from '@nestjs/common';
import { MessagingModule, OutboxModule, DeadLetterMetricsModule } from '@sepal/messaging';
import { ObservabilityModule } from '@sepal/observability';
import { PersistenceModule, resolveDatabaseTarget } from '@sepal/persistence';
import { DataConfig, DataConfigValues } from './data.config';
import { DataMetricsModule } from './metrics';
import { DatasetsModule } from './datasets/datasets.module';
import { EvaluationSetsModule } from './evaluation/evaluation-sets.module';
import { FeedbackModule } from './feedback/feedback.module';
import { ImagesModule } from './images/images.module';
import { CreateDataSchema1732400000000 } from './migrations/1732400000000-create-data-schema';
import { CreateDataAudit1764600000000 } from './migrations/1764600000000-create-data-audit';
import { DataAuditModule } from './audit/data-audit.module';
import { DeltaVersions1764500000000 } from './migrations/1764500000000-delta-versions';
import { RowsDatasetCheckPerStatement1764700000000 } from './migrations/1764700000000-rows-dataset-check-per-statement';
import { FeedbackProvenanceEvaluationSets1765200000000 } from './migrations/1765200000000-feedback-provenance-evaluation-sets';
import { CreatePredictionLog1765500000000 } from './migrations/1765500000000-create-prediction-log';
import { PredictionLogExport1765600000000 } from './migrations/1765600000000-prediction-log-export';
import { PredictionExportModule } from './prediction-log/export/prediction-export.module';
import { CreateImageBlobs1766100000000 } from './migrations/1766100000000-create-image-blobs';
import { PredictionLogModule } from './prediction-log/prediction-log.module';
import { PREDICTIONS_LOGGED_QUEUE } from './prediction-log/predictions-logged.consumer';

export const DATA_SCHEMA = 'data';

/** The data service: dataset import, versions, splits and feedback, in the `data` schema. */
@Module({})
export class DataModule {
  static forRoot(config: DataConfigValues): DynamicModule {
    return {
      module: DataModule,
      imports: [
        {
          module: DataConfigModule,
          global: true,
          providers: [{ provide: DataConfig, useValue: config }],
          exports: [DataConfig],
        },
        PersistenceModule.forRoot({
          target: resolveDatabaseTarget(config.DATABASE_URL, config.SEPAL_HOME),
          schema: DATA_SCHEMA,
          entities: [],
          migrations: [
            CreateDataSchema1732400000000,
            DeltaVersions1764500000000,
            CreateDataAudit1764600000000,
            RowsDatasetCheckPerStatement1764700000000,
            FeedbackProvenanceEvaluationSets1765200000000,
            CreatePredictionLog1765500000000,
            PredictionLogExport1765600000000,
            CreateImageBlobs1766100000000,
          ],
          applicationName: 'sepal-data',
        }),
        MessagingModule.forRoot({
          ...brokerSettings(config),
          serviceName: 'data',
        }),
        OutboxModule.forSchema(DATA_SCHEMA),
        ObservabilityModule.forRoot(),
        DeadLetterMetricsModule.forQueues(['data.feedback', PREDICTIONS_LOGGED_QUEUE]),
        DataAuditModule,
        DataMetricsModule,
        DatasetsModule,
        ImagesModule,
        FeedbackModule,
        EvaluationSetsModule,
        PredictionLogModule,
        PredictionExportModule,
      ],
    };
  }
}

@Module({})
class DataConfigModule {}
