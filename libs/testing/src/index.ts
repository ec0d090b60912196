export * from './unique-namespace';
export * from './wait-for';
export * from './tcp-proxy';
export * from './amqp-test-helpers';
export * from './event-fixtures';
export * from './test-database';
export * from './free-port';
export * from './embedded-system';
