import { DynamicModule, Module } from '@nestjs/common';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { register } from 'prom-client';
import { AppMetricsRegistry } from './app-metrics.registry';
import { HealthController } from './health.controller';
import { HealthRegistry } from './health.registry';
import { MetricsController } from './metrics.controller';
import { removeLintFailingDefaultMetrics } from './lint-default-metrics';

@Module({})
export class ObservabilityModule {
  /** `/metrics` (default Node metrics + whatever the app registers), `/health/live` and `/health/ready`. */
  static forRoot(): DynamicModule {
    // Default metrics are process-wide: collect them once even when several apps share the process.
    const collectDefaults = register.getSingleMetric('process_cpu_user_seconds_total') === undefined;
    return {
      module: ObservabilityModule,
      global: true,
      imports: [
        PrometheusModule.register({
          path: '/metrics',
          controller: MetricsController,
          defaultMetrics: { enabled: collectDefaults },
        }),
      ],
      controllers: [HealthController],
      providers: [HealthRegistry, AppMetricsRegistry],
      exports: [HealthRegistry, AppMetricsRegistry],
    };
  }

  constructor() {
    removeLintFailingDefaultMetrics();
  }
}
