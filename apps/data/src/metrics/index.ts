export * from './data-metrics';
export * from './data-metrics.module';
export * from './data-metrics.repository';
