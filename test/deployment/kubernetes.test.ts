/*
 * The Kubernetes deployment (deploy/kubernetes), checked like code: every overlay renders with `kubectl kustomize`,
 * every object is valid against its API schema (kubernetes-models; the operators' CRD schemas in crd-schemas/), and
 * the policies a schema cannot express hold: probes, limits and a locked-down securityContext on every container,
 * every referenced Secret and ConfigMap exists, every Service selects a Deployment, the NetworkPolicies allow
 * exactly the architecture's flows, and every app, port and variable of the code is in the manifests.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { WORKER_HEAP_ALLOWANCE_MB } from '../../apps/trainer/src';
import { expectedPrometheusRule, PROMETHEUS_RULE_FILE } from '../../scripts/kubernetes/prometheus-rule';
import { ComposeFile, readYaml, ROOT } from './compose-file';
import {
  APP_CONFIGS,
  APP_NAMES,
  AppName,
  COMPOSITION_VARS,
  containerEnvNames,
  resolveContainerEnv,
} from './kubernetes-env';
import { byKind, K8sObject, makeValidator, named, OVERLAYS, renderOverlays } from './kubernetes-manifests';
import {
  DEFAULTED,
  EXPECTED_FLOWS,
  EXTERNAL_SECRETS,
  flowPeers,
  OWNED_EVENTS,
} from './kubernetes-expectations';
import { allowedFlows } from './network-flows';

/** What a Secret made at install time holds here: a random-looking secret, as generate-secrets.sh makes. */
const installTimeSecret = () => '7f3a9c2e51b84d06aa19e0c4b2d7f835e1';

jest.setTimeout(60_000);

/* eslint-disable @typescript-eslint/no-explicit-any -- rendered manifests are read field by field */
const podSpec = (deployment: K8sObject): any => deployment.spec.template.spec;
const containersOf = (deployment: K8sObject): any[] => podSpec(deployment).containers;
const mib = (quantity: string) => {
  const match = /^(\d+)(Mi|Gi)$/.exec(quantity);
  if (!match) throw new Error(`memory ${quantity}: write it in Mi or Gi`);
  return Number(match[1]) * (match[2] === 'Gi' ? 1024 : 1);
};

let rendered: Record<string, K8sObject[]>;
beforeAll(() => {
  rendered = renderOverlays();
});

it('has a small and a production overlay', () => {
  expect(OVERLAYS).toEqual(expect.arrayContaining(['small', 'production']));
});

describe.each(OVERLAYS)('overlay %s', (overlay) => {
  const objects = () => rendered[overlay];
  const deployments = () => byKind(objects(), 'Deployment');
  const namespace = () => named(objects(), 'Namespace', 'sepal').metadata.name;

  it('renders objects valid against their API schemas, all in the overlay namespace', () => {
    const validate = makeValidator();
    const problems = objects().flatMap((object) =>
      validate(object).map((problem) => `${object.kind} ${object.metadata.name}: ${problem}`),
    );
    expect(problems).toEqual([]);
    for (const object of objects().filter((o) => o.kind !== 'Namespace')) {
      expect(`${object.kind}/${object.metadata.name} in ${object.metadata.namespace}`).toBe(
        `${object.kind}/${object.metadata.name} in ${namespace()}`,
      );
    }
  });

  it('runs one Deployment per app, each with a PodDisruptionBudget and spread over nodes and zones', () => {
    expect(
      deployments()
        .map((d) => d.metadata.name)
        .sort(),
    ).toEqual([...APP_NAMES].sort());
    for (const deployment of deployments()) {
      const labels = deployment.spec.template.metadata.labels;
      const budget = byKind(objects(), 'PodDisruptionBudget').find((pdb) =>
        Object.entries(pdb.spec.selector.matchLabels).every(([k, v]) => labels[k] === v),
      );
      expect(budget).toBeDefined();
      const keys = (podSpec(deployment).topologySpreadConstraints ?? []).map((c: any) => c.topologyKey);
      expect(keys).toEqual(['kubernetes.io/hostname', 'topology.kubernetes.io/zone']);
    }
  });

  it.each(APP_NAMES)(
    '%s: probes on the health routes, requests and limits, non-root, read-only, no capabilities, RuntimeDefault',
    (app) => {
      const deployment = named(objects(), 'Deployment', app);
      const pod = podSpec(deployment);
      expect(pod.securityContext).toMatchObject({
        runAsNonRoot: true,
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(pod.automountServiceAccountToken).toBe(false);
      for (const container of containersOf(deployment)) {
        expect(container.livenessProbe.httpGet.path).toBe('/health/live');
        expect(container.readinessProbe.httpGet.path).toBe('/health/ready');
        expect(container.startupProbe.httpGet.path).toBe('/health/live');
        for (const kind of ['requests', 'limits']) {
          expect(container.resources[kind]).toEqual({ cpu: expect.any(String), memory: expect.any(String) });
        }
        expect(container.securityContext).toEqual({
          runAsNonRoot: true,
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'] },
        });
        // A read-only root: whatever the app writes goes to a volume (/tmp for every app, the artifact store).
        const mounts = container.volumeMounts.map((m: any) => m.mountPath);
        expect(mounts).toContain('/tmp');
      }
    },
  );

  it('gives the gateway a startup window for its first model loads and every app a grace period past its drain', () => {
    for (const deployment of deployments()) {
      const [container] = containersOf(deployment);
      const env = resolveContainerEnv(container, objects(), installTimeSecret);
      const graceMs = Number(env.SHUTDOWN_GRACE_MS);
      expect(graceMs).toBeGreaterThan(Number(env.SHUTDOWN_DELAY_MS));
      // The kubelet SIGKILLs at terminationGracePeriodSeconds: the app must have exited by itself before.
      expect(podSpec(deployment).terminationGracePeriodSeconds * 1000).toBeGreaterThanOrEqual(
        graceMs + 5_000,
      );
    }
    const startup = containersOf(named(objects(), 'Deployment', 'inference'))[0].startupProbe;
    expect(startup.periodSeconds * startup.failureThreshold).toBeGreaterThanOrEqual(60);
  });

  it("sizes the trainer's memory for its trial workers (TRAINER_WORKERS x (TRIAL_MEMORY_MB + heap allowance))", () => {
    const trainer = named(objects(), 'Deployment', 'trainer');
    const [container] = containersOf(trainer);
    const env = resolveContainerEnv(container, objects(), installTimeSecret);
    const config = APP_CONFIGS.trainer.load(env);
    const needed = 512 + config.TRAINER_WORKERS * (config.TRIAL_MEMORY_MB + WORKER_HEAP_ALLOWANCE_MB);
    expect(mib(container.resources.limits.memory)).toBeGreaterThanOrEqual(needed);
    // Guaranteed memory: a training pod is not the one the node evicts first.
    expect(container.resources.requests.memory).toBe(container.resources.limits.memory);
  });

  it('references only Secrets and ConfigMaps it defines, or those made at install time (EXTERNAL_SECRETS)', () => {
    const text = JSON.stringify(objects());
    const referenced = new Set<string>();
    const walk = (node: unknown, key = ''): void => {
      if (Array.isArray(node)) return node.forEach((item) => walk(item, key));
      if (!node || typeof node !== 'object') return;
      const record = node as Record<string, any>;
      if (['secretKeyRef', 'secretRef', 'passwordSecret', 'importCredentialsSecret'].includes(key)) {
        referenced.add(`Secret/${record.name}`);
      }
      if (['configMapKeyRef', 'configMapRef'].includes(key)) referenced.add(`ConfigMap/${record.name}`);
      if (key === 'secretTargetRef') referenced.add(`Secret/${record.name}`);
      if (key === 'secret' && record.secretName) referenced.add(`Secret/${record.secretName}`);
      if (key === 'configMap' && record.name) referenced.add(`ConfigMap/${record.name}`);
      if (key === 'tls') referenced.add(`Secret/${record.secretName}`);
      for (const [child, value] of Object.entries(record)) walk(value, child);
    };
    walk(objects());
    const defined = new Set(objects().map((o) => `${o.kind}/${o.metadata.name}`));
    const missing = [...referenced].filter((ref) => !defined.has(ref) && !EXTERNAL_SECRETS.includes(ref));
    expect(missing).toEqual([]);
    expect(referenced.size).toBeGreaterThan(10);
    expect(text).not.toMatch(/CHANGE.?ME/i);
  });

  it('has every Service select the pods of one Deployment, on a port they listen on', () => {
    for (const service of byKind(objects(), 'Service')) {
      const selected = deployments().filter((d) =>
        Object.entries(service.spec.selector).every(([k, v]) => d.spec.template.metadata.labels[k] === v),
      );
      expect(selected.map((d) => d.metadata.name)).toEqual([service.metadata.name]);
      const portNames = containersOf(selected[0]).flatMap((c) => c.ports.map((p: any) => p.name));
      for (const port of service.spec.ports) expect(portNames).toContain(port.targetPort);
    }
    const ingressBackends = named(objects(), 'Ingress', 'sepal').spec.rules.map(
      (rule: any) => rule.http.paths[0].backend.service.name,
    );
    expect(ingressBackends.sort()).toEqual(['console', 'inference']);
    expect(named(objects(), 'Ingress', 'sepal').spec.tls[0].hosts.length).toBe(2);
  });

  it('allows exactly the flows of the architecture, and nothing else', () => {
    const flows = allowedFlows(byKind(objects(), 'NetworkPolicy'), flowPeers(namespace()), namespace());
    expect(flows).toEqual([...EXPECTED_FLOWS].sort());
    // And no rule opens every port (it would open any port a pod listens on later).
    for (const policy of byKind(objects(), 'NetworkPolicy')) {
      for (const rule of [...(policy.spec.ingress ?? []), ...(policy.spec.egress ?? [])]) {
        expect(`${policy.metadata.name}: ${JSON.stringify(rule.ports ?? [])}`).not.toMatch(/: \[\]$/);
      }
    }
  });

  it.each(APP_NAMES)(
    '%s: sets every variable its config reads, or leaves it at its default knowingly; sets none it does not read',
    (app: AppName) => {
      const [container] = containersOf(named(objects(), 'Deployment', app));
      const reads = Object.keys(APP_CONFIGS[app].schema.shape);
      const sets = containerEnvNames(container, objects());
      expect(reads.filter((name) => !sets.includes(name) && !DEFAULTED[app].includes(name))).toEqual([]);
      expect(DEFAULTED[app].filter((name) => sets.includes(name) || !reads.includes(name))).toEqual([]);
      expect(sets.filter((name) => !reads.includes(name) && !COMPOSITION_VARS.includes(name))).toEqual([]);
      // And the app starts with it: the whole environment is valid, the port is the container's.
      const env = resolveContainerEnv(container, objects(), installTimeSecret);
      expect(env.SEPAL_APP).toBe(app);
      const config = APP_CONFIGS[app].load(env) as Record<string, unknown>;
      const portVar = reads.find((name) => /^[A-Z]+_PORT$/.test(name) && name.startsWith(app.toUpperCase()));
      expect(container.ports.map((p: any) => p.containerPort)).toEqual([config[portVar!]]);
      expect(named(objects(), 'Service', app).spec.ports[0].port).toBe(config[portVar!]);
      if ('AMQP_URL' in config) expect(new URL(String(config.AMQP_URL)).username).toBe(`sepal_${app}`);
      if ('DATABASE_URL' in config && config.DATABASE_URL !== undefined) {
        expect(new URL(String(config.DATABASE_URL)).username).toBe(`sepal_${app}`);
      }
    },
  );

  it('scales the gateway with an HPA and the trainers with KEDA on trainer.jobs, read in this namespace', () => {
    const hpa = named(objects(), 'HorizontalPodAutoscaler', 'inference');
    expect(hpa.spec.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: 'inference' });
    const scaled = named(objects(), 'ScaledObject', 'trainer');
    expect(scaled.spec.scaleTargetRef.name).toBe('trainer');
    const [trigger] = scaled.spec.triggers;
    expect(trigger.metadata).toMatchObject({ queueName: 'trainer.jobs', mode: 'QueueLength', value: '1' });
    expect(new URL(trigger.metadata.host).hostname).toBe(`sepal-rabbitmq.${namespace()}.svc`);
    named(objects(), 'TriggerAuthentication', trigger.authenticationRef.name);
    // No replica count in the manifests for what the autoscalers own.
    expect(named(objects(), 'Deployment', 'inference').spec.replicas).toBeUndefined();
    expect(named(objects(), 'Deployment', 'trainer').spec.replicas).toBeUndefined();
  });

  it('monitors every app (the ServiceMonitor selects each Service, its job named as in prometheus.yml), RabbitMQ and PostgreSQL', () => {
    const monitor = named(objects(), 'ServiceMonitor', 'sepal');
    for (const app of APP_NAMES) {
      const service = named(objects(), 'Service', app);
      expect(service.metadata.labels?.[monitor.spec.jobLabel]).toBe(app);
      expect(monitor.spec.endpoints[0].port).toBe(service.spec.ports[0].name);
    }
    const rabbitmq = named(objects(), 'PodMonitor', 'sepal-rabbitmq');
    expect(rabbitmq.spec.selector.matchLabels).toEqual({ 'app.kubernetes.io/name': 'sepal-rabbitmq' });
    expect(named(objects(), 'Cluster', 'sepal-pg').spec.monitoring.enablePodMonitor).toBe(true);
    const dashboards = named(objects(), 'ConfigMap', 'sepal-grafana-dashboards');
    expect(dashboards.metadata.labels?.grafana_dashboard).toBe('1');
  });

  it('gives each app its own RabbitMQ user with the permissions of scripts/provision and topic permissions on its own events', () => {
    const definitions = JSON.parse(
      execFileSync('sh', [join(ROOT, 'scripts/provision/rabbitmq-definitions.sh')], {
        encoding: 'utf8',
        env: {
          ...process.env,
          SEPAL_DATA_AMQP_PASSWORD: 'p',
          SEPAL_REGISTRY_AMQP_PASSWORD: 'p',
          SEPAL_TRAINER_AMQP_PASSWORD: 'p',
          SEPAL_INFERENCE_AMQP_PASSWORD: 'p',
        },
      }),
    ) as { permissions: { user: string; configure: string; write: string; read: string }[] };
    for (const app of ['data', 'registry', 'trainer', 'inference']) {
      const secret = named(objects(), 'Secret', `sepal-${app}-amqp`);
      expect(Buffer.from(secret.data!.username, 'base64').toString()).toBe(`sepal_${app}`);
      const user = named(objects(), 'User', `sepal-${app}`);
      expect(user.spec.importCredentialsSecret.name).toBe(secret.metadata.name);
      const permission = named(objects(), 'Permission', `sepal-${app}`);
      const { configure, write, read } = definitions.permissions.find((p) => p.user === `sepal_${app}`)!;
      expect(permission.spec).toMatchObject({ vhost: '/', permissions: { configure, write, read } });
      const topic = named(objects(), 'TopicPermission', `sepal-${app}`);
      expect(topic.spec.permissions.exchange).toBe('sepal.events');
      const writable = new RegExp(topic.spec.permissions.write);
      for (const event of OWNED_EVENTS[app]) expect(event).toMatch(writable);
      const others = Object.entries(OWNED_EVENTS).flatMap(([owner, events]) => (owner === app ? [] : events));
      for (const event of others.filter((e) => !OWNED_EVENTS[app].includes(e)))
        expect(event).not.toMatch(writable);
    }
  });

  it("gives each app with a database its own CloudNativePG role, owning its schema, with the app's Secret", () => {
    const cluster = named(objects(), 'Cluster', 'sepal-pg');
    const database = named(objects(), 'Database', 'sepal');
    for (const app of ['data', 'registry']) {
      const role = cluster.spec.managed.roles.find((r: any) => r.name === `sepal_${app}`);
      expect(role).toMatchObject({ login: true, superuser: false, createdb: false, createrole: false });
      expect(role.passwordSecret.name).toBe(`sepal-${app}-db`);
      const secret = named(objects(), 'Secret', `sepal-${app}-db`);
      expect(secret.type).toBe('kubernetes.io/basic-auth');
      expect(database.spec.schemas).toContainEqual({ name: app, owner: `sepal_${app}` });
    }
    expect(cluster.spec.enableSuperuserAccess).toBe(false);
  });
});

it('deploys every app the repository runs as a service', () => {
  const services = readdirSync(join(ROOT, 'apps')).filter((app) => {
    try {
      return /runService\(/.test(readFileSync(join(ROOT, 'apps', app, 'src/main.ts'), 'utf8'));
    } catch {
      return false;
    }
  });
  expect(services.sort()).toEqual([...APP_NAMES].sort());
});

it('keeps the PrometheusRule generated from the alert rules Sepal tests (npm run kubernetes:generate)', () => {
  const committed = parse(readFileSync(join(ROOT, PROMETHEUS_RULE_FILE), 'utf8'));
  expect(committed).toEqual(parse(expectedPrometheusRule(ROOT)));
  expect(committed.spec.groups.flatMap((g: any) => g.rules).length).toBeGreaterThan(5);
});

it('ships every Grafana dashboard in the ConfigMap the sidecar loads', () => {
  const generator = parse(readFileSync(join(ROOT, 'grafana/kustomization.yaml'), 'utf8'));
  const listed = generator.configMapGenerator[0].files.map((f: string) => f.replace(/^dashboards\//, ''));
  expect(listed.sort()).toEqual(
    readdirSync(join(ROOT, 'grafana/dashboards')).filter((f) => f.endsWith('.json')),
  );
});

it("gives each app the same key scopes as docker-compose's SEPAL_SERVICE_KEYS (bootstrap-keys.sh), `service` included", () => {
  const compose = readYaml<ComposeFile>('docker-compose.yml');
  const serviceKeys = String(compose.services.registry.environment?.SEPAL_SERVICE_KEYS ?? '');
  const composeScopes = Object.fromEntries(
    [...serviceKeys.matchAll(/svc-([a-z]+)=([a-z:,]+?):\$\{/g)].map(([, app, scopes]) => [app, scopes]),
  );
  const script = readFileSync(join(ROOT, 'deploy/kubernetes/bootstrap-keys.sh'), 'utf8');
  const specs = /^for spec in (.+); do$/m.exec(script)?.[1].split(' ') ?? [];
  const kubernetesScopes = Object.fromEntries(specs.map((spec) => spec.split(':') as [string, string]));
  expect(Object.keys(composeScopes).sort()).toEqual(['console', 'data', 'inference', 'trainer']);
  expect(kubernetesScopes).toEqual(composeScopes);
  for (const scopes of Object.values(kubernetesScopes)) expect(scopes.split(',')).toContain('service');
});
