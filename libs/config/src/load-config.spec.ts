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

  it('reports every bad variable with its value and the rule it broke', () => {
    expect(() => loadConfig(schema, { PORT: '70000', AMQP_URL: 'http://x' })).toThrow(ConfigError);
    try {
      loadConfig(schema, { PORT: '70000', AMQP_URL: 'http://x' });
    } catch (error) {
      const problems = (error as ConfigError).problems;
      expect(problems).toHaveLength(2);
      expect(problems.join('\n')).toContain('PORT="70000"');
      expect(problems.join('\n')).toContain('amqp://');
    }
  });

  it('parses only the keys of the schema', () => {
    const config = loadConfig(z.object({ A: z.string() }), { A: 'x', B: 'y' });
    expect(config).toEqual({ A: 'x' });
  });
});
