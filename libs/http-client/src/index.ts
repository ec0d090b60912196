export * from './service-call-error';
export * from './service-client';
export * from './with-retry';
