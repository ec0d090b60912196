import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { closeEmbeddedDatabases } from '@sepal/persistence';
import { smallOnnxModel, uniqueNamespace } from '@sepal/testing';
import { RegistryConfig, startRegistryApp } from '../../apps/registry/src';

jest.setTimeout(60_000);

const ADMIN_KEY = 'edge-rules-test-admin-key-7f3a9c';

/** The registry's HTTP edge, keyed and keyless (embedded adapters, fastify.inject): what is answered before the body. */
describe.each([
  ['keys on', { SEPAL_API_KEY: ADMIN_KEY }],
  ['keys off', {}],
])('the HTTP edge of the registry, %s', (mode, env) => {
  let app: NestFastifyApplication;
  let modelsDir: string;
  let bodyBytesRead = 0;

  beforeAll(async () => {
    const namespace = uniqueNamespace('edge');
    modelsDir = await mkdtemp(join(tmpdir(), 'sepal-edge-'));
    const config = RegistryConfig.load({
      SEPAL_HOME: `memory://edge-${namespace}`,
      SEPAL_NAMESPACE: namespace,
      MODELS_DIR: modelsDir,
      SEPAL_ALLOWED_HOSTS: 'sepal.internal',
      LOG_LEVEL: 'error',
      ...env,
    });
    app = await startRegistryApp(config, { listen: false });
  });

  afterAll(async () => {
    await app?.close();
    await closeEmbeddedDatabases();
    await rm(modelsDir, { recursive: true, force: true });
  });

  /** A body that counts what the server reads of it. */
  const counted = (bytes: number) =>
    Readable.from(
      (function* () {
        for (let sent = 0; sent < bytes; sent += 65_536) {
          bodyBytesRead += 65_536;
          yield Buffer.alloc(65_536, 1);
        }
      })(),
    );

  if (mode === 'keys on') {
    it.each(['/artifacts', '/keys/verify', '/experiments'])(
      'answers POST %s without a key 401 before reading its body',
      async (url) => {
        bodyBytesRead = 0;
        const response = await app.inject({
          method: 'POST',
          url,
          headers: { 'content-type': 'application/octet-stream' },
          payload: counted(8 * 1024 * 1024),
        });
        // POST /keys/verify too: it answers service identities only (the `service` scope).
        expect(response.statusCode).toBe(401);
        expect(response.json().message).toMatch(/needs an API key/);
        expect(bodyBytesRead).toBeLessThan(1024 * 1024);
      },
    );

    it('answers a key without the scope 403 before the body, and lets the right key through', async () => {
      const created = await app.inject({
        method: 'POST',
        url: '/keys',
        headers: { 'x-api-key': ADMIN_KEY },
        payload: { name: 'edge-reader', scopes: ['read'] },
      });
      expect(created.statusCode).toBe(201);
      bodyBytesRead = 0;
      const refused = await app.inject({
        method: 'POST',
        url: '/artifacts',
        headers: { 'content-type': 'application/octet-stream', 'x-api-key': created.json().secret },
        payload: counted(8 * 1024 * 1024),
      });
      expect(refused.statusCode).toBe(403);
      expect(refused.json().message).toMatch(/lacks the scope "train"/);
      expect(bodyBytesRead).toBeLessThan(1024 * 1024);
      const allowed = await app.inject({
        method: 'GET',
        url: '/models',
        headers: { 'x-api-key': ADMIN_KEY },
      });
      expect(allowed.statusCode).toBe(200);
    });

    it('streams an artifact to disk under the large limit, and gives no other route an octet-stream body', async () => {
      // A valid model (the registry takes ONNX only) over the 1 MiB limit of the other routes: a 3 MiB metadata tag.
      const bytes = smallOnnxModel('x'.repeat(3 * 1024 * 1024));
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      const stored = await app.inject({
        method: 'POST',
        url: '/artifacts',
        headers: {
          'content-type': 'application/octet-stream',
          'x-api-key': ADMIN_KEY,
          'x-content-sha256': sha256,
        },
        payload: bytes,
      });
      expect(stored.statusCode).toBe(201);
      expect(stored.json()).toMatchObject({ sha256, size: bytes.length });
      const other = await app.inject({
        method: 'POST',
        url: '/experiments',
        headers: { 'content-type': 'application/octet-stream', 'x-api-key': ADMIN_KEY },
        payload: bytes,
      });
      expect(other.statusCode).toBeGreaterThanOrEqual(400);
      expect(other.statusCode).toBeLessThan(500);
    });

    it('answers any Host and Origin when keys are on (a key cannot be sent cross-site without a preflight)', async () => {
      const response = await app.inject({
        method: 'GET',
        url: '/models',
        headers: { host: 'attacker.example:3002', 'x-api-key': ADMIN_KEY },
      });
      expect(response.statusCode).toBe(200);
    });
  } else {
    it.each([
      ['attacker.example:3002', 421],
      ['attacker.example', 421],
      ['127.0.0.1:3002', 200],
      ['localhost', 200],
      ['[::1]:3002', 200],
      ['sepal.internal:3002', 200],
    ])('answers GET /models with Host %s: %d', async (host, status) => {
      const response = await app.inject({ method: 'GET', url: '/models', headers: { host } });
      expect(response.statusCode).toBe(status);
      if (status === 421) expect(response.json().message).toMatch(/is not this machine.*SEPAL_ALLOWED_HOSTS/);
    });

    const experiment = (headers: Record<string, string>, payload: string = '{"name":"edge-exp"}') =>
      app.inject({
        method: 'POST',
        url: '/experiments',
        headers: { host: '127.0.0.1:3002', ...headers },
        payload,
      });

    it.each([
      [
        'a foreign Origin',
        { origin: 'http://evil.example', 'content-type': 'application/json', 'x-sepal-client': '1' },
        403,
        /another origin/,
      ],
      [
        'Sec-Fetch-Site cross-site',
        { 'sec-fetch-site': 'cross-site', 'content-type': 'application/json', 'x-sepal-client': '1' },
        403,
        /another site/,
      ],
      [
        'Sec-Fetch-Site same-site',
        { 'sec-fetch-site': 'same-site', 'content-type': 'application/json', 'x-sepal-client': '1' },
        403,
        /another site/,
      ],
      [
        'text/plain',
        { 'content-type': 'text/plain', 'x-sepal-client': '1' },
        415,
        /^body: unsupported content type "text\/plain"/,
      ],
      ['no X-Sepal-Client', { 'content-type': 'application/json' }, 403, /X-Sepal-Client/],
    ])('refuses a state change with %s', async (_case, headers, status, message) => {
      const response = await experiment(headers);
      expect(response.statusCode).toBe(status);
      expect(response.json().message).toMatch(message);
    });

    it('takes a state change from its own origin with JSON and X-Sepal-Client', async () => {
      const response = await experiment({
        origin: 'http://127.0.0.1:3002',
        'sec-fetch-site': 'same-origin',
        'content-type': 'application/json',
        'x-sepal-client': '1',
      });
      expect(response.statusCode).toBeLessThan(300);
    });
  }
});
