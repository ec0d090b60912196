import { randomBytes } from 'node:crypto';

/**
 * A name no other test run uses, e.g. `msg_m1x2k3_9f8e7d`: lowercase letters, digits and underscores only, so it is
 * valid as an AMQP name prefix and as an unquoted SQL identifier (if the prefix is).
 */
export function uniqueNamespace(prefix = 'test'): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
}
