import { DynamicModule, Module } from '@nestjs/common';
import { ObservabilityModule } from '@sepal/observability';
import { ConsoleConfig, ConsoleConfigValues } from './console.config';
import { JobsStreamService } from './jobs-stream/jobs-stream.service';
import { ProxyService } from './proxy/proxy.service';
import { MetricsSampler } from './traffic/metrics-sampler.service';
import { TrafficController } from './traffic/traffic.controller';
import { StaticFilesService } from './web/static-files.service';

/** The web console's server: the built single-page app, a proxy to the services, traffic sampling, job streams. */
@Module({})
export class ConsoleModule {
  static forRoot(config: ConsoleConfigValues): DynamicModule {
    return {
      module: ConsoleModule,
      imports: [ObservabilityModule.forRoot()],
      controllers: [TrafficController],
      providers: [
        { provide: ConsoleConfig, useValue: config },
        ProxyService,
        JobsStreamService,
        MetricsSampler,
        StaticFilesService,
      ],
    };
  }
}
