import { z } from 'zod';
import { baseConfigSchema } from './base-config';
import { portVar } from './env-types';
import { ConfigError, loadConfig } from './load-config';

describe('loadConfig', () => {
  const schema = baseConfigSchema.extend({ PORT: portVar(3000) });

  it('applies defaults when variables are unset', () => {
    const config = loadConfig(schema, {});
    expect(config.PORT).toBe(3000);
    expect(config.DATABASE_URL).toBeUndefined();
    expect(config.SEPAL_HOME).toBe('.sepal');
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig(schema, { DATABASE_URL: '' }).DATABASE_URL).toBeUndefined();
  });

  it('reports every bad variable by its name and the rule it broke, never its value', () => {
    expect(() => loadConfig(schema, { PORT: '70000', AMQP_URL: 'http://x' })).toThrow(ConfigError);
    try {
      loadConfig(schema, { PORT: '70000', AMQP_URL: 'http://x' });
    } catch (error) {
      const problems = (error as ConfigError).problems;
      expect(problems).toHaveLength(2);
      expect(problems.join('\n')).toMatch(/^PORT: /m);
      expect(problems.join('\n')).not.toContain('70000');
      expect(problems.join('\n')).not.toContain('http://x');
      expect(problems.join('\n')).toContain('amqp://');
    }
  });

  it.each([
    ['the .env.example placeholder', 'change-me-to-a-long-random-string'],
    ['a repeated character', 'aaaaaaaaaaaaaaaaaaaaaaaa'],
    ['too few distinct characters', 'abababababababababab'],
    ['too short', 'short-key'],
  ])('refuses %s as SEPAL_API_KEY without echoing it', (_case, secret) => {
    try {
      loadConfig(schema, { SEPAL_API_KEY: secret });
      throw new Error('accepted');
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const text = (error as ConfigError).message;
      expect(text).toMatch(/SEPAL_API_KEY: /);
      expect(text).not.toContain(secret);
    }
  });

  it('takes a random key', () => {
    expect(
      loadConfig(schema, { SEPAL_API_KEY: 'c0ffee42deadbeef9f8e7d6c5b4a3928' }).SEPAL_API_KEY,
    ).toHaveLength(32);
  });

  it('parses only the keys of the schema', () => {
    const config = loadConfig(z.object({ A: z.string() }), { A: 'x', B: 'y' });
    expect(config).toEqual({ A: 'x' });
  });
});
