export * from './scopes.decorators';
export * from './key-verifier';
export * from './scope.guard';
export * from './listen-policy';
export * from './rate-limit';
export * from './per-key-limit';
export * from './route-table';
export * from './failed-key-checks';
