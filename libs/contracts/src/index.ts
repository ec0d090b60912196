export * from './events/event-names';
export * from './events/common';
export * from './events/data.events';
export * from './events/training.events';
export * from './events/envelope';
export * from './errors/domain-errors';
export * from './http/data.dto';
