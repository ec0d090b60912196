import { ConfigError } from '@sepal/config';
import { checkListenPolicy, isLoopback } from './listen-policy';

describe('checkListenPolicy', () => {
  const base = { service: 'registry', keysConfigured: false, insecure: false };

  it('knows loopback addresses', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost'])
      expect(isLoopback(host)).toBe(true);
    for (const host of ['0.0.0.0', '::', '10.0.0.5', 'example.com']) expect(isLoopback(host)).toBe(false);
  });

  it('serves loopback without keys, and anywhere with them', () => {
    expect(checkListenPolicy({ ...base, host: '127.0.0.1' })).toBeUndefined();
    expect(checkListenPolicy({ ...base, host: '0.0.0.0', keysConfigured: true })).toBeUndefined();
  });

  it('refuses a non-loopback bind without keys, saying what to set', () => {
    expect(() => checkListenPolicy({ ...base, host: '0.0.0.0' })).toThrow(ConfigError);
    expect(() => checkListenPolicy({ ...base, host: '0.0.0.0' })).toThrow(
      /SEPAL_API_KEY.*SEPAL_INSECURE=true/s,
    );
  });

  it('serves without keys when told SEPAL_INSECURE, with a warning', () => {
    expect(checkListenPolicy({ ...base, host: '0.0.0.0', insecure: true })).toMatch(/INSECURE/);
  });
});
