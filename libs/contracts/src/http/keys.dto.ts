import { z } from 'zod';

/**
 * What a key may do. `admin` implies every other scope (and managing keys); `read` covers every GET that is not open
 * on purpose; `service` is a service identity: an app's own key, which may ask the registry who another key belongs
 * to (POST /keys/verify) on behalf of its callers.
 */
export const SCOPES = [
  'read',
  'predict',
  'feedback',
  'data:write',
  'train',
  'promote',
  'service',
  'admin',
] as const;
export const scopeSchema = z.enum(SCOPES);
export type Scope = z.infer<typeof scopeSchema>;

export const keyNameSchema = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9._-]{0,62}$/,
    'a key name is 1-63 lowercase letters, digits, ., _ and -, starting with a letter or digit',
  );

/** POST /keys (admin): a new key; the answer carries its secret, shown this once. */
export const createKeyRequestSchema = z
  .object({
    name: keyNameSchema,
    scopes: z.array(scopeSchema).min(1, 'give at least one scope').max(SCOPES.length),
  })
  .strict();
export type CreateKeyRequest = z.infer<typeof createKeyRequestSchema>;

/** GET /keys: ?all=true adds revoked keys; anything else but `false` (a repeated ?all= too) is a 400 naming `all`. */
export const keyListQuerySchema = z.object({
  all: z
    .enum(['true', 'false'])
    .optional()
    .transform((all) => all === 'true'),
});
export type KeyListQuery = z.output<typeof keyListQuerySchema>;

/** Who a key is: what the guard attaches to a request and what GET /keys/self answers. */
export const keyIdentitySchema = z.object({
  name: z.string(),
  scopes: z.array(scopeSchema),
});
export type KeyIdentity = z.infer<typeof keyIdentitySchema>;

export const createdKeySchema = keyIdentitySchema.extend({ secret: z.string() });
export type CreatedKey = z.infer<typeof createdKeySchema>;

/** One key as GET /keys lists it: never its secret. */
export const keyViewSchema = keyIdentitySchema.extend({
  createdAt: z.string(),
  createdBy: z.string().nullable(),
  lastUsedAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
  /** The key that revoked it. */
  revokedBy: z.string().nullable(),
});
export type KeyView = z.infer<typeof keyViewSchema>;

/**
 * POST /keys/verify (scope `service`): the other apps ask the registry who a secret belongs to (200 with the identity,
 * 401 if none).
 */
export const verifyKeyRequestSchema = z.object({ secret: z.string().min(1).max(512) }).strict();
export type VerifyKeyRequest = z.infer<typeof verifyKeyRequestSchema>;

/** True when a key with these scopes may do what `scope` allows. */
export function hasScope(scopes: readonly Scope[], scope: Scope): boolean {
  return scopes.includes('admin') || scopes.includes(scope);
}
