import { Controller, Get, Module, Post } from '@nestjs/common';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SCOPES } from '@sepal/contracts';
import { createHttpApp, Public, RequireScope, routeTable, RouteRow } from '@sepal/http';
import { JsonLogger } from '@sepal/observability';
import { closeEmbeddedDatabases } from '@sepal/persistence';
import { uniqueNamespace } from '@sepal/testing';
import { DataConfig, startDataApp } from '../../apps/data/src';
import { InferenceConfig, startInferenceApp } from '../../apps/inference/src';
import { RegistryConfig, startRegistryApp } from '../../apps/registry/src';
import { startTrainerApp, TrainerConfig } from '../../apps/trainer/src';

jest.setTimeout(120_000);

/** What each row may say: a scope, any valid key, @Public, or served by Fastify and open on purpose. */
const DECIDED = new Set<string>([...SCOPES, 'authenticated', 'public', 'open']);
/** @Public routes: a short list, reviewed here, so opening a route is a visible decision. */
const PUBLIC_ROUTES = new Set([
  'GET /health/live',
  'GET /health/ready',
  'GET /v2/health/live',
  'GET /v2/health/ready',
]);

const undecided = (rows: RouteRow[]) => rows.filter((r) => !DECIDED.has(r.access));

describe('the route table of every app', () => {
  const apps: { name: string; app: NestFastifyApplication }[] = [];
  let modelsDir: string;

  beforeAll(async () => {
    modelsDir = await mkdtemp(join(tmpdir(), 'sepal-routes-'));
    const env = {
      SEPAL_HOME: `memory://routes-${uniqueNamespace('routes')}`,
      SEPAL_API_KEY: 'route-table-admin-key',
      MODELS_DIR: modelsDir,
      REGISTRY_URL: 'http://127.0.0.1:9',
      LOG_LEVEL: 'error',
    };
    apps.push({ name: 'data', app: await startDataApp(DataConfig.load(env), { listen: false }) });
    apps.push({ name: 'registry', app: await startRegistryApp(RegistryConfig.load(env), { listen: false }) });
    apps.push({ name: 'trainer', app: await startTrainerApp(TrainerConfig.load(env), { listen: false }) });
    apps.push({
      name: 'inference',
      app: await startInferenceApp(InferenceConfig.load(env), { listen: false }),
    });
  });

  afterAll(async () => {
    for (const { app } of apps.reverse()) await app.close();
    await closeEmbeddedDatabases();
    await rm(modelsDir, { recursive: true, force: true });
  });

  it('gives every route of every app a scope, or opens it on purpose', () => {
    const table = apps.flatMap(({ name, app }) => routeTable(app).map((row) => ({ app: name, ...row })));
    // The table really is every route: each app's API is in it, not only the probes.
    for (const name of ['data', 'registry', 'trainer', 'inference']) {
      expect(
        table.filter((r) => r.app === name && DECIDED.has(r.access) && r.access !== 'public').length,
      ).toBeGreaterThan(3);
    }
    expect(table).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          app: 'registry',
          method: 'PUT',
          path: '/models/:name/aliases/:alias',
          access: 'promote',
        }),
        expect.objectContaining({ app: 'inference', method: 'POST', path: '/predict', access: 'predict' }),
        expect.objectContaining({ app: 'registry', method: 'GET', path: '/metrics', access: 'public' }),
      ]),
    );
    expect(undecided(table)).toEqual([]);
    const opened = table.filter((r) => r.access === 'public').map((r) => `${r.method} ${r.path}`);
    expect(opened.filter((route) => !PUBLIC_ROUTES.has(route) && route !== 'GET /metrics')).toEqual([]);
  });

  it('fails for a Nest route without an annotation and for a route added straight on Fastify', async () => {
    @Controller('things')
    class ThingsController {
      @Get()
      @RequireScope('read')
      list() {
        return [];
      }

      @Post()
      forgotten() {
        return {};
      }

      @Get('ping')
      @Public()
      ping() {
        return 'pong';
      }
    }
    @Module({ controllers: [ThingsController] })
    class ThingsModule {}
    const app = await createHttpApp(ThingsModule, {
      title: 't',
      description: 't',
      logger: new JsonLogger({ service: 'routes-test', level: 'error', format: 'json' }),
      auth: { enabled: true, verifier: () => ({ verify: async () => null }) },
    });
    app
      .getHttpAdapter()
      .getInstance()
      .get('/raw', async () => 'raw');
    await app.init();
    try {
      const rows = routeTable(app);
      expect(undecided(rows).sort((a, b) => a.path.localeCompare(b.path))).toEqual([
        { method: 'GET', path: '/raw', access: 'UNGUARDED' },
        { method: 'POST', path: '/things', access: 'UNGUARDED' },
      ]);
      expect(rows).toEqual(
        expect.arrayContaining([
          { method: 'GET', path: '/things', access: 'read' },
          { method: 'GET', path: '/things/ping', access: 'public' },
          { method: 'GET', path: '/docs/json', access: 'open' },
        ]),
      );
      // And the guard fails closed on the forgotten route: it asks for admin.
      const answer = await app.getHttpAdapter().getInstance().inject({ method: 'POST', url: '/things' });
      expect(answer.statusCode).toBe(401);
    } finally {
      await app.close();
    }
  });
});
