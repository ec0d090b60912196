import { Controller, Get, Res } from '@nestjs/common';
import { PrometheusController } from '@willsoto/nestjs-prometheus';
import { Public } from './public-route';

/** `/metrics`, open on purpose: Prometheus scrapes without a key, and no metric holds a secret (see the secrets test). */
@Controller()
@Public()
export class MetricsController extends PrometheusController {
  @Get()
  override index(@Res({ passthrough: true }) response: unknown): Promise<string> {
    return super.index(response);
  }
}
