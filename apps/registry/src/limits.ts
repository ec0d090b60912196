import { InvalidInputError } from '@sepal/contracts';

/**
 * Refuses a record (tags, params) with more keys than its configured limit: a 400 that names the field, the count
 * and the setting, so a client knows what to send and an operator what to raise.
 */
export function checkEntryCount(
  field: string,
  record: Record<string, unknown> | undefined,
  max: number,
  setting: string,
): void {
  if (!record) return;
  const count = Object.keys(record).length;
  if (count > max) {
    throw new InvalidInputError(
      `${field}: ${count} entries, more than ${setting} (${max})`,
      `Send at most ${max} ${field}; the registry's ${setting} sets the limit.`,
      [{ path: field, message: `at most ${max} entries (${setting})` }],
    );
  }
}
