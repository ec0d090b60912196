import { InvalidInputError } from '@sepal/contracts';

/** Opaque page tokens: the offset of the next page, base64url-encoded. */
export function encodePageToken(offset: number): string {
  return Buffer.from(`o:${offset}`, 'utf8').toString('base64url');
}

export function decodePageToken(token: string | undefined): number {
  if (!token) return 0;
  const match = /^o:(\d{1,12})$/.exec(Buffer.from(token, 'base64url').toString('utf8'));
  if (!match)
    throw new InvalidInputError(
      `invalid pageToken '${token}'`,
      'Pass back the nextPageToken of the previous page.',
    );
  return Number(match[1]);
}

/** Splits `limit + 1` fetched rows into a page and the token of the next one (null on the last page). */
export function pageOf<T>(
  rows: T[],
  offset: number,
  limit: number,
): { items: T[]; nextPageToken: string | null } {
  return {
    items: rows.slice(0, limit),
    nextPageToken: rows.length > limit ? encodePageToken(offset + limit) : null,
  };
}

/** A timestamptz column (a Date from both drivers) as an ISO string. */
export const iso = (value: Date | string): string => new Date(value).toISOString();
export const isoOrNull = (value: Date | string | null): string | null => (value ? iso(value) : null);
