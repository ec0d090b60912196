import { Controller, Get, Res } from '@nestjs/common';
import { PrometheusController } from '@willsoto/nestjs-prometheus';
import { register } from 'prom-client';
import { AppMetricsRegistry } from './app-metrics.registry';
import { Public } from './public-route';

/** `/metrics`, open on purpose: Prometheus scrapes without a key, and no metric holds a secret (see the secrets test). */
@Controller()
@Public()
export class MetricsController extends PrometheusController {
  constructor(private readonly appMetrics: AppMetricsRegistry) {
    super();
  }

  /** The process's metrics and the app's own (see AppMetricsRegistry). */
  @Get()
  override index(
    @Res({ passthrough: true }) response: { header(name: string, value: string): unknown },
  ): Promise<string> {
    response.header('Content-Type', register.contentType);
    return this.appMetrics.exposition();
  }
}
