export * from './data-metrics.service';
export * from './data-metrics.module';
export * from './data-metrics.repository';
