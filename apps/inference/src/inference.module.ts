import { DriftController } from './drift/drift.controller';
import { brokerSettings } from '@sepal/config';
import { DynamicModule, Module } from '@nestjs/common';
import { MessagingModule, DeadLetterMetricsModule } from '@sepal/messaging';
import { ObservabilityModule } from '@sepal/observability';
import { AdminController } from './admin/admin.controller';
import { DriftMonitors } from './drift/drift-monitors.service';
import { FeedbackController } from './feedback/feedback.controller';
import { InferenceConfig, InferenceConfigValues } from './inference.config';
import { InferenceMetrics } from './metrics/inference-metrics.service';
import { ChampionReloads } from './model/updates/champion-reloads.service';
import { HttpModelRegistry } from './model/registry/http-model-registry.repository';
import { LoadedVersions } from './model/catalog/loaded-versions.service';
import { ModelCatalog } from './model/catalog/model-catalog.service';
import { ModelLoader } from './model/loading/model-loader.service';
import { ModelManager } from './model/model-manager.service';
import { ModelPromotedConsumer } from './model/updates/model-promoted.consumer';
import { ModelRegistry } from './model/registry/model-registry';
import { OnnxSessions, OrtSessions } from './model/loading/onnx-sessions.service';
import { RegistrySync } from './model/updates/registry-sync.service';
import { BusServedPublisher, ServedPublisher } from './model/updates/served-publisher.service';
import { ServedReporter } from './model/updates/served-reporter.service';
import { TrafficSplits } from './model/updates/traffic-splits.service';
import { OipController } from './oip/oip.controller';
import { PredictController } from './predict/predict.controller';
import { PredictRateLimits } from './predict/predict-rate-limit.guard';
import { PredictionLog } from './prediction-log/prediction-log.service';
import { PredictService } from './predict/predict.service';
import { ModelStacks } from './stacking/model-stacks.service';
import { StackBuilder, WorkerStackBuilder } from './stacking/stack-builder.service';

/** The inference gateway: serves the champion over REST and KServe v2, hot-reloads on model.promoted. */
@Module({})
export class InferenceModule {
  static forRoot(config: InferenceConfigValues): DynamicModule {
    return {
      module: InferenceModule,
      imports: [
        {
          module: InferenceConfigModule,
          global: true,
          providers: [{ provide: InferenceConfig, useValue: config }],
          exports: [InferenceConfig],
        },
        MessagingModule.forRoot({
          ...brokerSettings(config),
          serviceName: 'inference',
        }),
        ObservabilityModule.forRoot(),
        DeadLetterMetricsModule.forQueues(['inference.model-promoted', 'inference.model-traffic']),
      ],
      controllers: [
        PredictController,
        OipController,
        FeedbackController,
        AdminController,
        DriftController,
        ModelPromotedConsumer,
      ],
      providers: [
        InferenceMetrics,
        DriftMonitors,
        { provide: ModelRegistry, useClass: HttpModelRegistry },
        { provide: OnnxSessions, useClass: OrtSessions },
        { provide: ServedPublisher, useClass: BusServedPublisher },
        ServedReporter,
        { provide: StackBuilder, useClass: WorkerStackBuilder },
        ModelStacks,
        ModelLoader,
        ModelCatalog,
        LoadedVersions,
        ChampionReloads,
        TrafficSplits,
        RegistrySync,
        ModelManager,
        PredictService,
        PredictionLog,
        PredictRateLimits,
      ],
      exports: [ModelManager, ModelStacks],
    };
  }
}

@Module({})
class InferenceConfigModule {}
