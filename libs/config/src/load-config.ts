import { z } from 'zod';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}\n` +
        'Fix the environment variables above (see .env.example and docs/configuration.md) and start again.',
    );
    this.name = 'ConfigError';
  }
}

/**
 * Reads the environment once against a schema whose keys are variable names; every bad value is reported by the
 * variable's name and the rule it broke, never by its value (a mistyped secret must not land in logs).
 */
export function loadConfig<S extends z.ZodObject>(
  schema: S,
  env: NodeJS.ProcessEnv = process.env,
): z.output<S> {
  const input: Record<string, string | undefined> = {};
  for (const key of Object.keys(schema.shape)) {
    const value = env[key];
    input[key] = value === '' ? undefined : value;
  }
  const result = schema.safeParse(input);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => {
        const name = issue.path.join('.');
        return `${name}: ${issue.message}${input[name] === undefined ? ' (it is not set)' : ''}`;
      }),
    );
  }
  return result.data;
}
