import { Command, InvalidArgumentError } from 'commander';
import {
  createdKeySchema,
  keyIdentitySchema,
  keyNameSchema,
  keyViewSchema,
  SCOPES,
  scopeSchema,
  type CreatedKey,
  type Scope,
} from '@sepal/contracts';
import { createKeyInDatabase, RegistryConfig } from '../../../registry/src';
import { serviceClient } from '../client/service-client';
import { Printer } from '../output/printer';
import { CliContext } from './cli-context';

function scopeList(value: string): Scope[] {
  const scopes = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = scopes.filter((s) => !scopeSchema.safeParse(s).success);
  if (bad.length || scopes.length === 0) {
    throw new InvalidArgumentError(
      `unknown scope ${bad.join(', ') || '(none)'}; scopes: ${SCOPES.join(', ')}.`,
    );
  }
  return scopes as Scope[];
}

function keyName(value: string): string {
  const parsed = keyNameSchema.safeParse(value);
  if (!parsed.success) throw new InvalidArgumentError(parsed.error.issues[0]?.message ?? 'bad name');
  return parsed.data;
}

const describeCreated = (key: CreatedKey) =>
  `key ${key.name} (${key.scopes.join(', ')})\nsecret: ${key.secret}\n` +
  'This secret is shown once: store it now. Send it in the X-API-Key header (the CLI reads SEPAL_API_KEY).';

/** `sepal keys`: API keys (identities with scopes) on the registry; `create --admin` works on the database. */
export function keysCommand(context: CliContext, env: NodeJS.ProcessEnv): Command {
  const keys = new Command('keys').description(
    `API keys: identities with scopes (${SCOPES.join(', ')}). Managing them needs an admin key in SEPAL_API_KEY.`,
  );
  const client = () => serviceClient(context, 'registry');
  const printer = (cmd: Command) => new Printer(Boolean(cmd.optsWithGlobals().json));

  keys
    .command('create')
    .description(
      'Create a key and print its secret once. --admin makes an admin key directly in the registry database ' +
        '(DATABASE_URL, or the embedded one under SEPAL_HOME): the first admin, with no key and no service needed. ' +
        'While keys are off (no SEPAL_API_KEY) the registry refuses to make keys with scopes: they would limit nothing.',
    )
    .argument('<name>', 'who holds it (the audit log records this name)', keyName)
    .option('-s, --scopes <list>', `comma-separated: ${SCOPES.join(',')}`, scopeList)
    .option('--admin', 'an admin key, created in the database without going through the registry')
    .action(async (name: string, options: { scopes?: Scope[]; admin?: boolean }, cmd: Command) => {
      let created: CreatedKey;
      if (options.admin) {
        created = await createKeyInDatabase(RegistryConfig.load(env), { name, scopes: ['admin'] });
      } else {
        if (!options.scopes) throw new Error('give --scopes (e.g. --scopes predict,feedback), or --admin');
        created = await client().post(
          '/keys',
          { name, scopes: options.scopes },
          { schema: createdKeySchema },
        );
      }
      printer(cmd).result(created, () => describeCreated(created));
      if (options.admin && !env.SEPAL_API_KEY) {
        // Keys stay off (every caller the anonymous admin) until SEPAL_API_KEY is set: say so, loudly.
        printer(cmd).note(
          'WARNING: keys are off (no SEPAL_API_KEY): this key changes nothing yet. Turn keys on by setting ' +
            'SEPAL_API_KEY to this secret for every app and restarting; then make keys with limited scopes with ' +
            '`sepal keys create <name> --scopes ...`.',
        );
      }
    });

  keys
    .command('ls')
    .description('List the keys: name, scopes, created, last used (never a secret).')
    .option('--all', 'include revoked keys')
    .action(async (options: { all?: boolean }, cmd: Command) => {
      const list = await client().get(`/keys${options.all ? '?all=true' : ''}`, {
        schema: keyViewSchema.array(),
      });
      printer(cmd).table(
        list,
        ['NAME', 'SCOPES', 'CREATED', 'BY', 'LAST USED', 'REVOKED'],
        list.map((k) => [
          k.name,
          k.scopes.join(','),
          k.createdAt,
          k.createdBy,
          k.lastUsedAt ?? '-',
          k.revokedAt ?? '-',
        ]),
      );
    });

  keys
    .command('revoke')
    .description('Revoke a key: every app refuses it within 5 s.')
    .argument('<name>', 'the key to revoke', keyName)
    .action(async (name: string, _options: unknown, cmd: Command) => {
      const revoked = await client().delete(`/keys/${encodeURIComponent(name)}`, { schema: keyViewSchema });
      printer(cmd).result(revoked, () => `key ${revoked.name} revoked at ${revoked.revokedAt}`);
    });

  keys
    .command('whoami')
    .description('The name and scopes of the key in SEPAL_API_KEY.')
    .action(async (_options: unknown, cmd: Command) => {
      const self = await client().get('/keys/self', { schema: keyIdentitySchema });
      printer(cmd).result(self, () => `${self.name}: ${self.scopes.join(', ')}`);
    });

  return keys;
}
