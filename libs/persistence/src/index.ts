export * from './async-mutex';
export * from './pglite-pool';
export * from './embedded-database';
export * from './database-target';
export * from './data-source';
export * from './persistence.module';
export * from './database-health';
export * from './transaction';
