import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConsoleConfig } from '../../apps/console/src';
import { DataConfig } from '../../apps/data/src';
import { InferenceConfig } from '../../apps/inference/src';
import { RegistryConfig } from '../../apps/registry/src';
import { TrainerConfig } from '../../apps/trainer/src';
import { BaseConfig, brokerSettings } from '@sepal/config';
import { DEFAULT_PRODUCERS } from '@sepal/messaging';
import { BrokerDefinitions, expectOwnedTopics } from './broker-definitions';
import { ComposeFile, interpolate, readEnvFile, readYaml, ROOT, serviceEnv } from './compose-file';

const compose = readYaml<ComposeFile>('docker-compose.yml');
const exampleEnv = readEnvFile('.env.example');
const API_KEY_VARS = [
  'SEPAL_API_KEY',
  'SEPAL_DATA_API_KEY',
  'SEPAL_TRAINER_API_KEY',
  'SEPAL_INFERENCE_API_KEY',
  'SEPAL_CONSOLE_API_KEY',
];
/** .env.example with the API keys set as a deployment must (random secrets): the apps refuse the placeholders. */
const deployEnv = {
  ...exampleEnv,
  ...Object.fromEntries(API_KEY_VARS.map((name) => [name, randomBytes(24).toString('hex')])),
};
const APPS = {
  data: { load: (env: NodeJS.ProcessEnv) => DataConfig.load(env), portVar: 'DATA_PORT' },
  registry: { load: (env: NodeJS.ProcessEnv) => RegistryConfig.load(env), portVar: 'REGISTRY_PORT' },
  trainer: { load: (env: NodeJS.ProcessEnv) => TrainerConfig.load(env), portVar: 'TRAINER_PORT' },
  inference: { load: (env: NodeJS.ProcessEnv) => InferenceConfig.load(env), portVar: 'INFERENCE_PORT' },
} as const;
type AppName = keyof typeof APPS;
const appNames = Object.keys(APPS) as AppName[];

const appPort = (name: AppName) => Number(serviceEnv(compose.services[name], exampleEnv)[APPS[name].portVar]);

describe('docker-compose.yml', () => {
  it('runs postgres and rabbitmq (management image) with health checks and named volumes', () => {
    for (const name of ['postgres', 'rabbitmq']) {
      const service = compose.services[name];
      expect(service.healthcheck?.test).toBeDefined();
      const named = (service.volumes ?? []).filter((v) => !v.startsWith('.') && !v.startsWith('/'));
      expect(named.length).toBeGreaterThan(0);
      for (const volume of named) expect(compose.volumes).toHaveProperty(volume.split(':')[0]);
    }
    expect(compose.services.rabbitmq.image).toMatch(/management/);
  });

  it.each(appNames)(
    '%s has a health check, waits for healthy dependencies and gets a valid distributed config',
    (name) => {
      const service = compose.services[name];
      expect(service.healthcheck?.test).toBeDefined();
      const dependencies = Object.entries(service.depends_on ?? {});
      expect(dependencies.length).toBeGreaterThan(0);
      for (const [, dependency] of dependencies) expect(dependency.condition).toBe('service_healthy');
      const env = serviceEnv(service, deployEnv);
      expect(env.SEPAL_APP).toBe(name);
      expect(env.AMQP_URL).toMatch(/^amqp:\/\/.+@rabbitmq:5672$/);
      const config = APPS[name].load(env) as { DATABASE_URL?: string; AMQP_URL?: string };
      expect(config.AMQP_URL).toBe(env.AMQP_URL);
      if (name === 'data' || name === 'registry') expect(config.DATABASE_URL).toMatch(/@postgres:5432\//);
    },
  );

  it('runs the web console on 8080, proxying to every service by its compose name', () => {
    const service = compose.services.console;
    expect(service.healthcheck?.test).toBeDefined();
    const env = serviceEnv(service, deployEnv);
    expect(env.SEPAL_APP).toBe('console');
    const config = ConsoleConfig.load(env);
    expect(config.CONSOLE_PORT).toBe(8080);
    expect(service.ports).toEqual(['8080:8080']);
    expect([config.DATA_URL, config.REGISTRY_URL, config.TRAINER_URL, config.INFERENCE_URL]).toEqual([
      'http://data:3001',
      'http://registry:3002',
      'http://trainer:3003',
      'http://inference:3000',
    ]);
  });

  it.each(appNames)(
    '%s connects with its own PostgreSQL role and RabbitMQ user, provisioned by the postgres and rabbitmq services',
    (name) => {
      const env = serviceEnv(compose.services[name], deployEnv);
      expect(new URL(env.AMQP_URL).username).toBe(`sepal_${name}`);
      // ...which the consumers know as this app's identity (AMQP_PRODUCERS unset: the default), so they enforce it.
      expect(env.AMQP_PRODUCERS).toBeUndefined();
      expect(DEFAULT_PRODUCERS[new URL(env.AMQP_URL).username]).toBe(name);
      expect(brokerSettings(APPS[name].load(env) as BaseConfig)).toMatchObject({ quorumQueues: true });
      const upper = name.toUpperCase();
      expect(new URL(env.AMQP_URL).password).toBe(exampleEnv[`SEPAL_${upper}_AMQP_PASSWORD`]);
      expect(serviceEnv(compose.services.rabbitmq, exampleEnv)).toHaveProperty(
        `SEPAL_${upper}_AMQP_PASSWORD`,
      );
      if (name === 'data' || name === 'registry') {
        expect(new URL(env.DATABASE_URL).username).toBe(`sepal_${name}`);
        expect(serviceEnv(compose.services.postgres, exampleEnv)).toHaveProperty(
          `SEPAL_${upper}_DB_PASSWORD`,
        );
      } else {
        // No database role at all for an app that keeps no state.
        expect(env.DATABASE_URL).toBeUndefined();
      }
    },
  );

  it('provisions the roles and users from the scripts in scripts/provision', () => {
    expect(compose.services.postgres.volumes).toContain(
      './scripts/provision/postgres-roles.sh:/docker-entrypoint-initdb.d/10-sepal-roles.sh:ro',
    );
    expect(compose.services.postgres.volumes).toContain('./scripts/provision:/sepal/provision:ro');
    expect(compose.services.rabbitmq.volumes).toContain('./scripts/provision:/sepal/provision:ro');
    expect(compose.services.rabbitmq.entrypoint).toEqual(['sh', '/sepal/provision/rabbitmq-start.sh']);
  });

  it('renders broker users that publish only their own events, on the namespaced exchange when there is one', () => {
    const render = (namespace?: string) =>
      JSON.parse(
        execFileSync('sh', [join(ROOT, 'scripts/provision/rabbitmq-definitions.sh')], {
          env: {
            PATH: process.env.PATH,
            ...Object.fromEntries(appNames.map((app) => [`SEPAL_${app.toUpperCase()}_AMQP_PASSWORD`, 'pw'])),
            ...(namespace ? { SEPAL_NAMESPACE: namespace } : {}),
          },
          encoding: 'utf8',
        }),
      ) as BrokerDefinitions;
    expectOwnedTopics(render(), (app) => `sepal_${app}`, 'sepal.events');
    const namespaced = render('ns_1');
    expectOwnedTopics(namespaced, (app) => `sepal_${app}`, 'ns_1.sepal.events');
    const trainer = namespaced.permissions.find((p) => p.user === 'sepal_trainer');
    for (const name of ['ns_1.sepal.events', 'ns_1.trainer.jobs', 'ns_1.trainer.dlx'])
      expect(new RegExp(trainer!.write).test(name)).toBe(true);
    for (const name of ['sepal.events', 'ns_1.registry.dlx', 'ns_1.sepal.dlx', 'trainer.jobs'])
      expect(new RegExp(trainer!.write).test(name)).toBe(false);
  });

  it('runs two trainer replicas and publishes no host port that would clash between them', () => {
    expect(compose.services.trainer.deploy?.replicas).toBe(2);
    expect(compose.services.trainer.ports ?? []).toEqual([]);
  });

  it('publishes no host port twice', () => {
    const hostPorts = Object.values(compose.services).flatMap((s) =>
      (s.ports ?? []).map((p) => p.split(':').at(-2)),
    );
    expect(new Set(hostPorts).size).toBe(hostPorts.length);
  });

  it("publishes RabbitMQ's management API on the host's loopback only, and neither broker nor database port", () => {
    expect(compose.services.rabbitmq.ports).toEqual(['127.0.0.1:15672:15672']);
    expect(compose.services.postgres.ports ?? []).toEqual([]);
  });

  it('needs every secret from the environment and commits none', () => {
    for (const secret of [
      'POSTGRES_PASSWORD',
      'RABBITMQ_DEFAULT_PASS',
      ...API_KEY_VARS,
      'GRAFANA_ADMIN_PASSWORD',
      'SEPAL_DATA_DB_PASSWORD',
      'SEPAL_REGISTRY_DB_PASSWORD',
      'SEPAL_DATA_AMQP_PASSWORD',
      'SEPAL_REGISTRY_AMQP_PASSWORD',
      'SEPAL_TRAINER_AMQP_PASSWORD',
      'SEPAL_INFERENCE_AMQP_PASSWORD',
    ]) {
      const { [secret]: _omitted, ...withoutSecret } = exampleEnv;
      const raw = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
      expect(raw).toContain(`\${${secret}:?`);
      expect(() => interpolate(raw, withoutSecret)).toThrow(new RegExp(secret));
    }
  });

  it.each([...appNames, 'console' as const])(
    '%s refuses to start with the .env.example placeholder key, naming the variable but not the value',
    (name) => {
      const env = serviceEnv(compose.services[name], exampleEnv);
      const load = () => (name === 'console' ? ConsoleConfig.load(env) : APPS[name as AppName].load(env));
      expect(load).toThrow(/SEPAL_API_KEY: is a placeholder/);
      expect(load).not.toThrow(new RegExp(env.SEPAL_API_KEY));
    },
  );

  it('gives every app its own key, and the registry stores each with the fewest scopes the app needs', () => {
    const keys = Object.fromEntries(
      [...appNames, 'console'].map((name) => [
        name,
        serviceEnv(compose.services[name], deployEnv).SEPAL_API_KEY,
      ]),
    );
    expect(new Set(Object.values(keys)).size).toBe(5);
    expect(keys.registry).toBe(deployEnv.SEPAL_API_KEY);
    const registry = RegistryConfig.load(serviceEnv(compose.services.registry, deployEnv));
    expect(registry.SEPAL_SERVICE_KEYS).toEqual([
      { name: 'svc-data', scopes: ['service', 'read'], secret: keys.data },
      { name: 'svc-trainer', scopes: ['service', 'read', 'train', 'promote'], secret: keys.trainer },
      { name: 'svc-inference', scopes: ['service', 'read'], secret: keys.inference },
      { name: 'svc-console', scopes: ['service', 'read'], secret: keys.console },
    ]);
  });

  it('publishes only the gateway and the console beyond this host', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      for (const port of service.ports ?? []) {
        if (name === 'inference' || name === 'console') expect(port.split(':')).toHaveLength(2);
        else expect([name, port]).toEqual([name, expect.stringMatching(/^127\.0\.0\.1:/)]);
      }
    }
  });

  it('mounts the shipped data where the data service reads it and a volume where the registry writes models', () => {
    const dataEnv = serviceEnv(compose.services.data, exampleEnv);
    expect(compose.services.data.volumes).toContain(`./data:${dataEnv.DATA_DIR}:ro`);
    const registryEnv = serviceEnv(compose.services.registry, exampleEnv);
    const modelsMount = (compose.services.registry.volumes ?? []).find(
      (v) => v.split(':')[1] === registryEnv.MODELS_DIR,
    );
    expect(modelsMount).toBeDefined();
    expect(compose.volumes).toHaveProperty(modelsMount!.split(':')[0]);
  });

  it('points every Prometheus target at a compose service and its metrics port', () => {
    const prometheus = readYaml<{
      scrape_configs: {
        job_name: string;
        static_configs?: { targets: string[] }[];
        dns_sd_configs?: { names: string[]; port: number }[];
      }[];
    }>('prometheus.yml');
    const targets = prometheus.scrape_configs.flatMap((job) => [
      ...(job.static_configs ?? []).flatMap((c) => c.targets),
      ...(job.dns_sd_configs ?? []).flatMap((c) =>
        c.names.map((n) => `${n.replace(/^tasks\./, '')}:${c.port}`),
      ),
    ]);
    const appTargets = targets.filter((t) => appNames.includes(t.split(':')[0] as AppName));
    for (const name of appNames) expect(appTargets).toContain(`${name}:${appPort(name)}`);
    for (const target of targets) {
      const [host] = target.split(':');
      expect(Object.keys(compose.services)).toContain(host);
    }
    expect(compose.services.prometheus.volumes).toContain(
      './prometheus.yml:/etc/prometheus/prometheus.yml:ro',
    );
  });

  it('mounts the Grafana provisioning and dashboards', () => {
    const volumes = compose.services.grafana.volumes ?? [];
    expect(volumes.some((v) => v.startsWith('./grafana/provisioning:/etc/grafana/provisioning'))).toBe(true);
    expect(volumes.some((v) => v.startsWith('./grafana/dashboards:'))).toBe(true);
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const stages = dockerfile.split(/^FROM /m).slice(1);

  it('is multi-stage and the runtime stage installs production dependencies only', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const runtime = stages[stages.length - 1];
    expect(runtime).toMatch(/npm ci --omit=dev/);
    expect(runtime).toMatch(/COPY --from=build \/app\/dist/);
  });

  it('runs as a non-root user and starts the app chosen by SEPAL_APP', () => {
    const runtime = stages[stages.length - 1];
    const user = /^USER (\S+)/m.exec(runtime)?.[1];
    expect(user).toBeDefined();
    expect(['root', '0']).not.toContain(user);
    expect(runtime).toMatch(/dist\/apps\/\$\{SEPAL_APP\}\/src\/main\.js/);
    for (const name of appNames)
      expect(readFileSync(join(ROOT, `apps/${name}/src/main.ts`), 'utf8')).toMatch(/runService/);
  });
});
