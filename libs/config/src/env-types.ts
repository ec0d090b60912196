import { z } from 'zod';

export const portVar = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);

export const booleanVar = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .optional()
    .transform((value) => (value === undefined ? fallback : ['true', '1', 'yes'].includes(value)));

export const urlVar = (protocols: string[]) =>
  z
    .string()
    .url()
    .refine((value) => protocols.some((p) => value.startsWith(`${p}:`)), {
      message: `must start with ${protocols.map((p) => `${p}://`).join(' or ')}`,
    });

/** Placeholders a secret must not keep: .env.example's, and the usual words for "fill this in". */
const PLACEHOLDER = /change-?me|placeholder|example|your[-_]?(api[-_]?)?key|^(secret|password)$/i;

/** Estimated bits of a string: its length times the Shannon entropy of its characters (a crude floor, not a proof). */
export function estimatedBits(value: string): number {
  const counts = new Map<string, number>();
  for (const char of value) counts.set(char, (counts.get(char) ?? 0) + 1);
  let perChar = 0;
  for (const count of counts.values()) {
    const p = count / value.length;
    perChar -= p * Math.log2(p);
  }
  return perChar * value.length;
}

/**
 * A secret (an API key): at least 16 characters, not a placeholder, at least 8 distinct characters and about 48 bits
 * by its character statistics, so `openssl rand -hex 32` passes and `aaaa…` or `change-me-…` does not. Errors never
 * show the value.
 */
export const secretVar = () =>
  z
    .string()
    .min(16, 'must be at least 16 characters (e.g. `openssl rand -hex 32`)')
    .refine((value) => !PLACEHOLDER.test(value), {
      message: 'is a placeholder (as in .env.example): set a random secret, e.g. `openssl rand -hex 32`',
    })
    .refine((value) => new Set(value).size >= 8 && estimatedBits(value) >= 48, {
      message:
        'is too predictable (too few distinct characters): set a random secret, e.g. `openssl rand -hex 32`',
    });
