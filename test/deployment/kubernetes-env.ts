import { consoleConfigSchema, ConsoleConfig } from '../../apps/console/src';
import { DataConfig, dataConfigSchema } from '../../apps/data/src';
import { InferenceConfig, inferenceConfigSchema } from '../../apps/inference/src';
import { RegistryConfig, registryConfigSchema } from '../../apps/registry/src';
import { TrainerConfig, trainerConfigSchema } from '../../apps/trainer/src';
import type { K8sObject } from './kubernetes-manifests';

/** Each app run as a Deployment: its config schema (the variables it reads) and its loader. */
export const APP_CONFIGS = {
  data: { schema: dataConfigSchema, load: (env: NodeJS.ProcessEnv) => DataConfig.load(env) },
  registry: { schema: registryConfigSchema, load: (env: NodeJS.ProcessEnv) => RegistryConfig.load(env) },
  trainer: { schema: trainerConfigSchema, load: (env: NodeJS.ProcessEnv) => TrainerConfig.load(env) },
  inference: { schema: inferenceConfigSchema, load: (env: NodeJS.ProcessEnv) => InferenceConfig.load(env) },
  console: { schema: consoleConfigSchema, load: (env: NodeJS.ProcessEnv) => ConsoleConfig.load(env) },
} as const;
export type AppName = keyof typeof APP_CONFIGS;
export const APP_NAMES = Object.keys(APP_CONFIGS) as AppName[];

/**
 * Variables the manifests set that no config schema reads, on purpose: SEPAL_APP picks the app in the image's CMD;
 * the others are the parts DATABASE_URL and AMQP_URL are composed of ($(VAR) references).
 */
export const COMPOSITION_VARS = [
  'SEPAL_APP',
  'DB_HOST',
  'DB_PORT',
  'DB_NAME',
  'DB_USER',
  'DB_PASSWORD',
  'AMQP_HOST',
  'AMQP_PORT',
  'AMQP_USER',
  'AMQP_PASSWORD',
];

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    configMapKeyRef?: { name: string; key: string };
    secretKeyRef?: { name: string; key: string };
    fieldRef?: { fieldPath: string };
  };
}
interface Container {
  name: string;
  env?: EnvVar[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
}

/** The names a container's environment sets (env and every envFrom ConfigMap's keys). */
export function containerEnvNames(container: Container, objects: K8sObject[]): string[] {
  const fromConfigMaps = (container.envFrom ?? []).flatMap((source) => {
    const name = source.configMapRef?.name;
    const map = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === name);
    return Object.keys(map?.data ?? {});
  });
  return [...new Set([...fromConfigMaps, ...(container.env ?? []).map((e) => e.name)])];
}

/**
 * The environment the container starts with, as the kubelet resolves it: ConfigMaps and Secrets of the render (a
 * Secret made at install time gets `placeholder`), the pod's name for fieldRefs, and $(VAR) references expanded.
 */
export function resolveContainerEnv(
  container: Container,
  objects: K8sObject[],
  placeholder: (secret: string, key: string) => string,
): Record<string, string> {
  const find = (kind: string, name: string) =>
    objects.find((o) => o.kind === kind && o.metadata.name === name);
  const env: Record<string, string> = {};
  for (const source of container.envFrom ?? []) {
    if (source.configMapRef) Object.assign(env, find('ConfigMap', source.configMapRef.name)?.data ?? {});
  }
  for (const variable of container.env ?? []) {
    const from = variable.valueFrom;
    if (from?.configMapKeyRef) {
      env[variable.name] =
        find('ConfigMap', from.configMapKeyRef.name)?.data?.[from.configMapKeyRef.key] ?? '';
    } else if (from?.secretKeyRef) {
      const { name, key } = from.secretKeyRef;
      const data = find('Secret', name)?.data?.[key];
      env[variable.name] =
        data !== undefined ? Buffer.from(data, 'base64').toString() : placeholder(name, key);
    } else if (from?.fieldRef) {
      env[variable.name] = `${container.name}-7d9f8c6b5-x2x4q`;
    } else {
      env[variable.name] = (variable.value ?? '').replace(/\$\(([A-Za-z0-9_]+)\)/g, (whole, name: string) =>
        name in env ? env[name] : whole,
      );
    }
  }
  return env;
}
