export * from './sql';
export * from './enqueue-event';
export * from './claim-message';
export * from './outbox-relay';
