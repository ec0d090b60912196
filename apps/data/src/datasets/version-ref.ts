import { InvalidInputError } from '@sepal/contracts';

export type VersionRef =
  { kind: 'latest' } | { kind: 'seq'; seq: number } | { kind: 'prefix'; prefix: string };

/** `latest`, a sequence number (`3` or `v3`) or a unique id prefix of at least 6 hex characters. */
export function parseVersionRef(text: string): VersionRef {
  if (text === 'latest') return { kind: 'latest' };
  const seq = /^v?(\d{1,9})$/.exec(text);
  if (seq && !/^[0-9a-f]{6,}$/.test(text)) return { kind: 'seq', seq: Number(seq[1]) };
  if (/^[0-9a-f]{6,64}$/.test(text)) return { kind: 'prefix', prefix: text };
  throw new InvalidInputError(
    `'${text}' is not a version reference`,
    "Use 'latest', a version number such as v2, or at least 6 hex characters of the version id.",
  );
}
