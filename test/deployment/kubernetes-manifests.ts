import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import { ScaledObject, TriggerAuthentication } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import {
  PodMonitor,
  PrometheusRule,
  ServiceMonitor,
} from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { Ingress, NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Namespace, PersistentVolumeClaim, Secret, Service } from 'kubernetes-models/v1';
import { parseAllDocuments } from 'yaml';
import { ROOT } from './compose-file';

/** A rendered object; `spec` and the rest are read by the checks as they need. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- each check reads the fields of its kind
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  type?: string;
}

export const KUSTOMIZE_DIR = 'deploy/kubernetes';
export const OVERLAYS = readdirSync(join(ROOT, KUSTOMIZE_DIR, 'overlays'));

/**
 * Every overlay rendered by `kubectl kustomize`, from a copy of the tree whose Secrets generate-secrets.sh made (as a
 * user does before applying): the checkout's own secrets, if any, are never read.
 */
export function renderOverlays(): Record<string, K8sObject[]> {
  const copy = mkdtempSync(join(tmpdir(), 'sepal-k8s-'));
  try {
    cpSync(join(ROOT, KUSTOMIZE_DIR), join(copy, KUSTOMIZE_DIR), {
      recursive: true,
      filter: (source) => !source.includes(join('components', 'secrets', 'env')),
    });
    cpSync(join(ROOT, 'grafana'), join(copy, 'grafana'), { recursive: true });
    execFileSync('sh', [join(copy, KUSTOMIZE_DIR, 'generate-secrets.sh')], { stdio: 'pipe' });
    return Object.fromEntries(
      OVERLAYS.map((overlay) => {
        const yaml = execFileSync('kubectl', ['kustomize', join(copy, KUSTOMIZE_DIR, 'overlays', overlay)], {
          encoding: 'utf8',
          maxBuffer: 64 * 2 ** 20,
        });
        return [
          overlay,
          parseAllDocuments(yaml).map((document) => unwrapSecret(document.toJS() as K8sObject)),
        ];
      }),
    );
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
}

/** kustomize folds long base64 values over lines (which the API server accepts): one line each, as it stores them. */
function unwrapSecret(object: K8sObject): K8sObject {
  if (object.kind !== 'Secret' || !object.data) return object;
  const data = Object.fromEntries(
    Object.entries(object.data).map(([key, value]) => [key, value.replace(/\s/g, '')]),
  );
  return { ...object, data };
}

/** The kubernetes-models class of every built-in and KEDA/Prometheus Operator kind the manifests use. */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Namespace': Namespace,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'networking.k8s.io/v1/Ingress': Ingress,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject,
  'keda.sh/v1alpha1/TriggerAuthentication': TriggerAuthentication,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor,
  'monitoring.coreos.com/v1/PrometheusRule': PrometheusRule,
  'monitoring.coreos.com/v1/PodMonitor': PodMonitor,
};

const CRD_SCHEMAS_DIR = join(ROOT, 'test/deployment/crd-schemas');

/**
 * A structural schema made strict the way the API server prunes: an object that lists its properties accepts no
 * other (unless it preserves unknown fields), so a misspelt field fails here instead of vanishing on apply.
 */
function strict(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(strict);
  if (!schema || typeof schema !== 'object') return schema;
  const node = Object.fromEntries(Object.entries(schema).map(([key, value]) => [key, strict(value)]));
  if (
    node.properties &&
    node.additionalProperties === undefined &&
    !node['x-kubernetes-preserve-unknown-fields']
  ) {
    node.additionalProperties = false;
  }
  return node;
}

function crdValidators(): Record<string, ValidateFunction> {
  const ajv = new Ajv({ strict: false, allErrors: true });
  // The OpenAPI formats the CRDs use, checked as the API server does (unknown formats would only be warned about, one
  // warning with a stack trace per field: some 20,000 lines of test output).
  const integerIn = (bits: number) => (value: number) =>
    Number.isInteger(value) && value >= -(2 ** (bits - 1)) && value < 2 ** (bits - 1);
  ajv.addFormat('int32', { type: 'number', validate: integerIn(32) });
  ajv.addFormat('int64', { type: 'number', validate: (value: number) => Number.isInteger(value) });
  ajv.addFormat(
    'date-time',
    (value: string) => !Number.isNaN(Date.parse(value)) && /^\d{4}-\d\d-\d\dT/.test(value),
  );
  return Object.fromEntries(
    readdirSync(CRD_SCHEMAS_DIR).map((file) => {
      const crd = JSON.parse(readFileSync(join(CRD_SCHEMAS_DIR, file), 'utf8')) as {
        apiVersion: string;
        kind: string;
        schema: { properties: Record<string, unknown> };
      };
      // metadata is the API server's to check (names are checked by kubernetes-models for the built-in kinds).
      const { metadata: _metadata, ...properties } = crd.schema.properties;
      const schema = strict({ ...crd.schema, properties: { ...properties, metadata: { type: 'object' } } });
      return [`${crd.apiVersion}/${crd.kind}`, ajv.compile(schema as object)];
    }),
  );
}

/** Validates an object against its kind's schema; answers the problems (none: valid), or that the kind is unknown. */
export function makeValidator(): (object: K8sObject) => string[] {
  const crds = crdValidators();
  return (object) => {
    const key = `${object.apiVersion}/${object.kind}`;
    const Model = MODELS[key];
    if (Model) {
      try {
        new Model(object as never).validate();
        return [];
      } catch (error) {
        return [(error as Error).message];
      }
    }
    const validate = crds[key];
    if (!validate) return [`no schema for ${key}: add its kubernetes-models class or its CRD schema`];
    return validate(object) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
  };
}

export const byKind = (objects: K8sObject[], kind: string) => objects.filter((o) => o.kind === kind);
export const named = (objects: K8sObject[], kind: string, name: string): K8sObject => {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name}`);
  return found;
};
