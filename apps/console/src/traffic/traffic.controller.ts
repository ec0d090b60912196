import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { MetricsSampler } from './metrics-sampler.service';
import { TrafficView } from './traffic';

@ApiTags('console')
@Controller('api/console')
export class TrafficController {
  constructor(private readonly sampler: MetricsSampler) {}

  @Get('traffic')
  @ApiOperation({
    summary:
      'Gateway traffic sampled from its /metrics: req/s, p99, errors and predictions per class and model over the window.',
  })
  traffic(): TrafficView {
    return this.sampler.view();
  }
}
