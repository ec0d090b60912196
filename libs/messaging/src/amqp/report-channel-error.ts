import { LoggerService } from '@nestjs/common';
import { describeError } from '../describe-error';

/**
 * Errors the broker reports on a channel (a numeric AMQP reply code, e.g. 406 PRECONDITION_FAILED for a queue
 * declared with other arguments) need a human; a channel cut by a lost connection is repaired by reconnection.
 */
export function reportChannelError(logger: LoggerService, channelName: string, error: unknown): void {
  const message = `${channelName} channel: ${describeError(error)}`;
  const replyCode = typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined;
  if (typeof replyCode === 'number') logger.error(message);
  else logger.warn(`${message} (connection lost; it is re-created on reconnection)`);
}
