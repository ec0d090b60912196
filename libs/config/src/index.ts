export * from './load-config';
export * from './env-types';
export * from './base-config';
export * from './worker-script';
export * from './worker-priority';
