import { Module } from '@nestjs/common';
import { DataMetrics } from './data-metrics.service';
import { DataMetricsRepository } from './data-metrics.repository';

/** The data service's Prometheus metrics (datasets and feedback); import it in DataModule. */
@Module({ providers: [DataMetricsRepository, DataMetrics] })
export class DataMetricsModule {}
