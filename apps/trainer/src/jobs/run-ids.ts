import { createHash } from 'node:crypto';

/** A name-based UUID (version 5 layout over SHA-256): the same name always gives the same id. */
export function uuidFromName(name: string): string {
  const bytes = createHash('sha256').update(`sepal-trainer:${name}`).digest().subarray(0, 16);
  bytes[6] = (bytes[6] & 0x0f) | 0x50;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The parent run of a job's first delivery is derived from the message id, so a redelivery (the worker died
 * mid-job) knows which run to mark failed even when the registry cannot be asked.
 */
export const firstAttemptRunId = (messageId: string): string => uuidFromName(`job:${messageId}`);
