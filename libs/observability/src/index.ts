export * from './metric-factory';
export * from './http-metrics';
export * from './health.registry';
export * from './health.controller';
export * from './json-logger';
export * from './observability.module';
export * from './lint-default-metrics';
export * from './public-route';
