import { ConfigError } from '@sepal/config';
import { closeEmbeddedDatabases } from '@sepal/persistence';
import { uniqueNamespace } from '@sepal/testing';
import { DataConfig, startDataApp } from '../../apps/data/src';

jest.setTimeout(60_000);

/** Loopback by default; beyond it, keys or an explicit, logged SEPAL_INSECURE (the embedded adapters). */
describe('where an app listens', () => {
  const base = () => ({
    SEPAL_HOME: `memory://listen-${uniqueNamespace('listen')}`,
    DATA_PORT: '0',
    LOG_LEVEL: 'info',
  });

  afterAll(() => closeEmbeddedDatabases());

  it('listens on loopback unless HOST says otherwise', async () => {
    const app = await startDataApp(DataConfig.load(base()));
    try {
      expect(app.getHttpServer().address()).toMatchObject({ address: '127.0.0.1' });
    } finally {
      await app.close();
    }
  });

  it('refuses to listen beyond loopback without a key, saying what to set', async () => {
    const start = startDataApp(DataConfig.load({ ...base(), HOST: '0.0.0.0' }));
    await expect(start).rejects.toThrow(ConfigError);
    await expect(startDataApp(DataConfig.load({ ...base(), DATA_HOST: '0.0.0.0' }))).rejects.toThrow(
      /SEPAL_API_KEY.*SEPAL_INSECURE=true/s,
    );
  });

  it('listens beyond loopback with SEPAL_INSECURE=true, and says so in a warning', async () => {
    let logged = '';
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      logged += String(chunk);
      return true;
    });
    try {
      const app = await startDataApp(DataConfig.load({ ...base(), HOST: '0.0.0.0', SEPAL_INSECURE: 'true' }));
      try {
        expect(app.getHttpServer().address()).toMatchObject({ address: '0.0.0.0' });
      } finally {
        await app.close();
      }
    } finally {
      spy.mockRestore();
    }
    const warning = logged
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { level: string; msg: string })
      .find((entry) => entry.level === 'warn' && /INSECURE/.test(entry.msg));
    expect(warning?.msg).toMatch(/without API keys/);
  });

  it('listens beyond loopback with a key', async () => {
    const app = await startDataApp(
      DataConfig.load({ ...base(), HOST: '0.0.0.0', SEPAL_API_KEY: 'a-long-enough-admin-key' }),
    );
    await app.close();
  });
});
