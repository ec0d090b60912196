export * from './auth';
export * from './changes-state';
export * from './domain-exception.filter';
export * from './zod-validation.pipe';
export * from './openapi';
export * from './create-http-app';
export * from './run-service';
export * from './start-sepal-app';
