import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { closeEmbeddedDatabases } from '@sepal/persistence';
import {
  createTestDatabase,
  deleteNamespace,
  smallOnnxModel,
  TestDatabase,
  uniqueNamespace,
  waitFor,
  NO_CROSS_VALIDATION,
} from '@sepal/testing';
import { DataConfig, startDataApp } from '../../apps/data/src';
import { InferenceConfig, startInferenceApp } from '../../apps/inference/src';
import { RegistryConfig, startRegistryApp } from '../../apps/registry/src';
import { startTrainerApp, TrainerConfig } from '../../apps/trainer/src';

const AMQP_URL = process.env.TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const QUEUES = [
  'trainer.jobs',
  'trainer.retrain-policy',
  'registry.training',
  'registry.jobs',
  'data.feedback',
];

jest.setTimeout(120_000);

type AppName = 'data' | 'registry' | 'trainer' | 'inference';

/**
 * Keys across the whole system, every app listening on loopback and checking keys (the registry against its store,
 * the others through it, cached): scopes (401 vs 403), the audit's actor, revocation on every app within 5 s, and
 * no secret in any log line or answer, /metrics and /docs included.
 */
describe.each(['real services', 'embedded adapters'] as const)('API keys on %s', (mode) => {
  const real = mode === 'real services';
  const adminKey = randomBytes(24).toString('hex');
  const dbPassword = `pw-${randomBytes(12).toString('hex')}`;
  const namespace = uniqueNamespace('keys');
  const urls = {} as Record<AppName, string>;
  const apps: NestFastifyApplication[] = [];
  const secrets: Record<string, string> = { admin: adminKey };
  /** Every log line and every answer of the run, searched for secrets at the end. */
  const seen: string[] = [];
  /** The answers that carried a new secret (kept apart: the search below must find it there, and only there). */
  const shown: string[] = [];
  let db: TestDatabase | undefined;
  let databaseUrl: string | undefined;
  let modelsDir: string;
  const writes = { out: process.stdout.write, err: process.stderr.write };

  /** `shownOnce`: the answer that carries a new key's secret, the one place it may appear. */
  const call = async (
    app: AppName,
    method: string,
    path: string,
    as?: string,
    body?: unknown,
    shownOnce = false,
  ) => {
    const response = await fetch(`${urls[app]}${path}`, {
      method,
      headers: {
        ...(as ? { 'x-api-key': secrets[as] } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    seen.push(JSON.stringify([...response.headers]));
    (shownOnce ? shown : seen).push(text);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: response.status, text, json: json as Record<string, unknown> };
  };

  beforeAll(async () => {
    const capture = (original: typeof process.stdout.write) =>
      ((chunk: string | Uint8Array, ...rest: unknown[]) => {
        seen.push(String(chunk));
        return (original as (...args: unknown[]) => boolean).call(process.stdout, chunk, ...rest);
      }) as typeof process.stdout.write;
    process.stdout.write = capture(writes.out);
    process.stderr.write = capture(writes.err);
    modelsDir = await mkdtemp(join(tmpdir(), 'sepal-keys-'));
    if (real) {
      db = await createTestDatabase('sepal_keys');
      // Trust authentication ignores the password, so the test can give one and look for it everywhere.
      const url = new URL(db.url);
      url.password = dbPassword;
      databaseUrl = url.toString();
    }
    const env = {
      DATABASE_URL: databaseUrl,
      AMQP_URL: real ? AMQP_URL : undefined,
      SEPAL_HOME: `memory://keys-${namespace}`,
      SEPAL_NAMESPACE: namespace,
      SEPAL_API_KEY: adminKey,
      REGISTRY_KEY_USAGE_FLUSH_MS: '200',
      MODELS_DIR: modelsDir,
      LOG_LEVEL: 'info',
      DATA_PORT: '0',
      REGISTRY_PORT: '0',
      TRAINER_PORT: '0',
      INFERENCE_PORT: '0',
      FEEDBACK_COMMIT_EVERY: '0',
      PREDICT_RATE_PER_KEY: '0.5',
      PREDICT_BURST_PER_KEY: '3',
      DATA_DIR: join(__dirname, '../../data'),
    };
    const local = async (app: NestFastifyApplication) => (await app.getUrl()).replace('[::1]', '127.0.0.1');
    const registry = await startRegistryApp(RegistryConfig.load(env));
    apps.push(registry);
    urls.registry = await local(registry);
    const wired = { ...env, REGISTRY_URL: urls.registry, REGISTRY_PUBLIC_URL: urls.registry };
    const data = await startDataApp(DataConfig.load(wired));
    apps.push(data);
    urls.data = await local(data);
    // The job trained here only needs to be accepted and recorded.
    const trainer = await startTrainerApp(
      TrainerConfig.load({ ...wired, DATA_URL: urls.data, ...NO_CROSS_VALIDATION }),
    );
    apps.push(trainer);
    urls.trainer = await local(trainer);
    const inference = await startInferenceApp(InferenceConfig.load(wired));
    apps.push(inference);
    urls.inference = await local(inference);
  });

  afterAll(async () => {
    process.stdout.write = writes.out;
    process.stderr.write = writes.err;
    for (const app of apps.reverse()) await app.close();
    await closeEmbeddedDatabases();
    await db?.drop();
    await rm(modelsDir, { recursive: true, force: true });
    if (real) await deleteNamespace(AMQP_URL, namespace, QUEUES);
  });

  it('listens on loopback and refuses a call without a key, or with an unknown one, saying how to send one', async () => {
    for (const app of Object.keys(urls) as AppName[]) {
      expect(new URL(urls[app]).hostname).toBe('127.0.0.1');
      const none = await call(app, 'GET', '/health/ready');
      expect(none.status).not.toBe(401);
    }
    const anonymous = await call('registry', 'GET', '/models');
    expect(anonymous.status).toBe(401);
    expect(anonymous.json.message).toMatch(/X-API-Key/);
    secrets.forged = `sepal_${randomBytes(9).toString('base64url')}_${randomBytes(32).toString('base64url')}`;
    for (const app of ['data', 'inference'] as const) {
      const forged = await call(app, 'GET', app === 'data' ? '/datasets' : '/model', 'forged');
      expect(forged.status).toBe(401);
      expect(forged.json.message).toMatch(/unknown or revoked/);
    }
  });

  it('makes keys with scopes whose secret is shown once; a predict-only key cannot promote (403 naming the scope)', async () => {
    for (const [name, scopes] of [
      ['shop', ['predict']],
      ['reader', ['read']],
      ['promoter', ['promote', 'train']],
      ['loader', ['data:write']],
    ] as const) {
      const created = await call('registry', 'POST', '/keys', 'admin', { name, scopes }, true);
      expect(created.status).toBe(201);
      expect(created.json).toMatchObject({ name, scopes });
      secrets[name] = created.json.secret as string;
    }
    expect(
      (await call('registry', 'POST', '/keys', 'admin', { name: 'shop', scopes: ['read'] })).status,
    ).toBe(409);
    expect((await call('registry', 'POST', '/keys', 'shop', { name: 'x', scopes: ['admin'] })).status).toBe(
      403,
    );
    const self = await call('registry', 'GET', '/keys/self', 'shop');
    expect(self.json).toEqual({ name: 'shop', scopes: ['predict'] });

    const promote = await call('registry', 'PUT', '/models/iris/aliases/champion', 'shop', { version: 1 });
    expect(promote.status).toBe(403);
    expect(promote.json.message).toMatch(/"shop" lacks the scope "promote"/);
    // Through another app too: the gateway asks the registry, then applies the scope itself.
    expect((await call('inference', 'POST', '/admin/reload', 'shop')).status).toBe(403);
    expect((await call('trainer', 'POST', '/train', 'shop', { dataset: 'iris' })).status).toBe(403);
  });

  it('records the key’s name as the actor of a promotion, an import, a feedback commit and a training request, and refuses a claimed one', async () => {
    const run = await call('registry', 'POST', '/runs', 'admin', { experiment: 'keys' });
    expect(run.status).toBe(201);
    const artifact = smallOnnxModel(`model ${namespace}`);
    const sha256 = createHash('sha256').update(artifact).digest('hex');
    const upload = await fetch(`${urls.registry}/artifacts`, {
      method: 'POST',
      headers: {
        'x-api-key': adminKey,
        'content-type': 'application/octet-stream',
        'x-content-sha256': sha256,
      },
      body: artifact,
    });
    expect(upload.status).toBeLessThan(300);
    const version = await call('registry', 'POST', '/models/iris/versions', 'admin', {
      runId: run.json.id,
      sha256,
    });
    expect(version.status).toBe(201);

    const claimed = await call('registry', 'PUT', '/models/iris/aliases/champion', 'promoter', {
      version: 1,
      by: 'alice',
    });
    expect(claimed.status).toBe(400);
    const moved = await call('registry', 'PUT', '/models/iris/aliases/champion', 'promoter', {
      version: 1,
      reason: 'first',
    });
    expect(moved.status).toBe(200);
    const audit = await call('registry', 'GET', '/models/iris/audit', 'reader');
    expect(audit.json).toEqual([expect.objectContaining({ toVersion: 1, by: 'promoter', reason: 'first' })]);

    const train = await call('trainer', 'POST', '/train', 'promoter', {
      dataset: 'iris',
      requestedBy: 'alice',
    });
    expect(train.status).toBe(400);
    const accepted = await call('trainer', 'POST', '/train', 'promoter', { dataset: 'iris' });
    expect(accepted.status).toBe(202);
    const jobId = accepted.json.jobId as string;
    await waitFor(async () => (await call('registry', 'GET', `/jobs/${jobId}`, 'reader')).status === 200, {
      timeoutMs: 15_000,
      description: 'the registry records the job',
    });
    expect((await call('registry', 'GET', `/jobs/${jobId}`, 'reader')).json.requestedBy).toBe('promoter');
  });

  it('limits predictions per key: 429 with Retry-After beyond the burst, other keys unaffected', async () => {
    const row = { features: [5.1, 3.5, 1.4, 0.2] };
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++)
      statuses.push((await call('inference', 'POST', '/predict', 'shop', row)).status);
    expect(statuses).not.toContain(429);
    const limited = await fetch(`${urls.inference}/predict`, {
      method: 'POST',
      headers: { 'x-api-key': secrets.shop, 'content-type': 'application/json' },
      body: JSON.stringify(row),
    });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(((await limited.json()) as { message: string }).message).toMatch(/PREDICT_RATE_PER_KEY/);
    expect((await call('inference', 'POST', '/predict', 'admin', row)).status).not.toBe(429);
  });

  it('refuses a revoked key on every app within 5 s, and records when each key was last used', async () => {
    const reads: Record<AppName, string> = {
      data: '/datasets',
      registry: '/models',
      trainer: `/jobs/${randomUUID()}`,
      inference: '/model',
    };
    for (const app of Object.keys(reads) as AppName[]) {
      expect((await call(app, 'GET', reads[app], 'reader')).status).not.toBe(401);
    }
    expect((await call('registry', 'DELETE', '/keys/reader', 'admin')).status).toBe(200);
    const revokedAt = Date.now();
    // Each app is asked until it refuses; what is checked is when the requests it still accepted were sent, not how
    // long the asking took (a loaded machine answers late, which says nothing about how long a key stays valid).
    const callsUntilRefused: Partial<Record<AppName, number>> = {};
    const calls: Record<AppName, number> = { data: 0, registry: 0, trainer: 0, inference: 0 };
    const lastAcceptedSentAfter: Partial<Record<AppName, number>> = {};
    await waitFor(
      async () => {
        for (const app of Object.keys(reads) as AppName[]) {
          if (callsUntilRefused[app] !== undefined) continue;
          calls[app] += 1;
          const sentAfter = Date.now() - revokedAt;
          if ((await call(app, 'GET', reads[app], 'reader')).status === 401)
            callsUntilRefused[app] = calls[app];
          else lastAcceptedSentAfter[app] = sentAfter;
        }
        return Object.keys(callsUntilRefused).length === 4;
      },
      { timeoutMs: 30_000, intervalMs: 100, description: 'every app refuses the revoked key' },
    );
    // The registry revoked it in its own process: its first answer after the revocation is already a refusal.
    expect(callsUntilRefused.registry).toBe(1);
    // The others check keys through the registry and cache its answer (SEPAL_KEY_CACHE_MS, at most 5 s): no request
    // sent 5 s or more after the revocation was accepted.
    expect(Object.entries(lastAcceptedSentAfter).filter(([, sentAfterMs]) => sentAfterMs >= 5_000)).toEqual(
      [],
    );

    await waitFor(
      async () => {
        const list = await call('registry', 'GET', '/keys?all=true', 'admin');
        const byName = new Map(
          (list.json as unknown as { name: string; lastUsedAt: string | null }[]).map((k) => [k.name, k]),
        );
        return byName.get('shop')?.lastUsedAt !== null && byName.get('reader')?.lastUsedAt !== null;
      },
      { timeoutMs: 5_000, description: 'last use recorded' },
    );
    const list = await call('registry', 'GET', '/keys?all=true', 'admin');
    expect(list.json).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'admin', scopes: ['admin'], createdBy: 'SEPAL_API_KEY' }),
        expect.objectContaining({ name: 'reader', revokedAt: expect.any(String), revokedBy: 'admin' }),
        expect.objectContaining({ name: 'shop', createdBy: 'admin', revokedAt: null }),
      ]),
    );
  });

  it('never shows a key secret or the database password in a log line or an answer, /metrics and /docs included', async () => {
    for (const app of Object.keys(urls) as AppName[]) {
      expect((await call(app, 'GET', '/metrics')).status).toBe(200);
      expect((await call(app, 'GET', '/docs/json')).status).toBe(200);
      expect((await call(app, 'GET', '/docs')).status).toBe(200);
      await call(app, 'POST', '/nope', 'admin', { secret: 'x' });
    }
    const everything = seen.join('\n');
    expect(everything.length).toBeGreaterThan(10_000);
    expect(everything).toContain('"shop"');
    // The search does find a secret where one is: in the answers that created the keys.
    expect(shown.join('\n')).toContain(secrets.shop);
    const forbidden = { ...secrets, ...(real ? { dbPassword } : {}) };
    for (const [what, secret] of Object.entries(forbidden)) {
      expect({ what, found: everything.includes(secret) }).toEqual({ what, found: false });
    }
  });
});
