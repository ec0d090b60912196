import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { exportDenseClassifierToOnnx } from '@sepal/ml';
import { closeEmbeddedDatabases } from '@sepal/persistence';
import { freePort, separateAppsEnv, uniqueNamespace, waitFor } from '@sepal/testing';
import { DataConfig, startDataApp } from '../../apps/data/src';
import { InferenceConfig, startInferenceApp } from '../../apps/inference/src';
import { RegistryConfig, startRegistryApp } from '../../apps/registry/src';
import { startTrainerApp, TrainerConfig } from '../../apps/trainer/src';
import { AppName, World } from './routes';

export const ROOT = join(__dirname, '../..');
/** An admin key: every route is reachable (the suite fuzzes input, not authentication). */
export const API_KEY = `fuzz-admin-${uniqueNamespace('key')}`;

export interface Answer {
  status: number;
  text: string;
  json<T = Record<string, unknown>>(): T;
}

export interface FuzzStack {
  apps: Map<AppName, NestFastifyApplication>;
  urls: Map<AppName, string>;
  world: World;
  call(
    app: AppName,
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<Answer>;
  close(): Promise<void>;
}

export async function send(
  url: string,
  method: string,
  body: Buffer | undefined,
  contentType: string | undefined,
  timeoutMs?: number,
  replaced: Record<string, string> = {},
  options: { freshConnection?: boolean } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { 'x-api-key': API_KEY };
  if (contentType) headers['content-type'] = contentType;
  for (const [name, value] of Object.entries(replaced)) {
    if (value === '') delete headers[name];
    else headers[name] = value;
  }
  const signal = timeoutMs === undefined ? undefined : AbortSignal.timeout(timeoutMs);
  if (options.freshConnection) return sendOnNewConnection(url, method, headers, body, signal);
  const response = await fetch(url, { method, headers, body, signal });
  const text = await response.text();
  return { status: response.status, text, json: <T>() => JSON.parse(text) as T };
}

/**
 * The same request on a connection of its own (node:http, no agent, `Connection: close`): fetch's pool may hand a
 * resent request another kept-alive socket the server is closing, so only a failure here is the server's.
 */
function sendOnNewConnection(
  url: string,
  method: string,
  headers: Record<string, string>,
  body: Buffer | undefined,
  signal: AbortSignal | undefined,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      url,
      {
        method,
        agent: false,
        signal,
        headers: { ...headers, connection: 'close', 'content-length': String(body?.length ?? 0) },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: response.statusCode ?? 0, text, json: <T>() => JSON.parse(text) as T });
        });
      },
    );
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

/** A classifier on the dataset's features, as the trainer would export it (enough for the gateway to serve). */
function classifier(features: string[], labels: string[]): Uint8Array {
  const n = features.length;
  const k = labels.length;
  return exportDenseClassifierToOnnx(
    {
      featureNames: features,
      labels,
      standardizer: { mean: new Array<number>(n).fill(4), std: new Array<number>(n).fill(2) },
      layers: [
        {
          kernel: new Float32Array(n * k).map((_, i) => ((i % 7) - 3) / 3),
          bias: new Float32Array(k),
          inputs: n,
          units: k,
          activation: 'softmax',
        },
      ],
    },
    { model_name: 'FuzzModel', label_map: JSON.stringify(labels), feature_names: JSON.stringify(features) },
  );
}

/**
 * Every app of the embedded mode in this process (PGlite in memory, the in-process bus), each on its own port, with
 * Iris imported and a champion served: the requests then reach real rows and a real model.
 */
export async function startFuzzStack(): Promise<FuzzStack> {
  const namespace = uniqueNamespace('fuzz');
  const modelsDir = await mkdtemp(join(tmpdir(), 'sepal-fuzz-models-'));
  const names: AppName[] = ['data', 'registry', 'inference', 'trainer'];
  const ports = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await freePort()] as const)));
  const urls = new Map(names.map((n) => [n, `http://127.0.0.1:${ports[n]}`] as const));
  const modelName = 'FuzzModel';
  const env: NodeJS.ProcessEnv = {
    ...separateAppsEnv({
      namespace,
      ports,
      dataDir: join(ROOT, 'data'),
      modelsDir,
      modelName,
      logLevel: process.env.FUZZ_LOG_LEVEL ?? 'error',
    }),
    SEPAL_API_KEY: API_KEY,
    TRAINER_WORKERS: '1',
    // Fuzzed training requests stay cheap, and the gate never moves an alias (the suite counts alias moves).
    TRAIN_MAX_EPOCHS: '3',
    TRAIN_MAX_TRIALS: '2',
    TRAIN_MAX_HIDDEN_UNITS: '8',
    GATE_MIN_ACCURACY: '1',
    GATE_MIN_IMPROVEMENT: '1',
  };
  const apps = new Map<AppName, NestFastifyApplication>();
  const close = async () => {
    for (const app of [...apps.values()].reverse()) await app.close().catch(() => undefined);
    await closeEmbeddedDatabases();
    await rm(modelsDir, { recursive: true, force: true });
  };
  const call: FuzzStack['call'] = (app, method, path, body, headers = {}) => {
    const raw =
      body instanceof Uint8Array
        ? Buffer.from(body)
        : body === undefined
          ? undefined
          : Buffer.from(JSON.stringify(body));
    const contentType =
      body instanceof Uint8Array
        ? 'application/octet-stream'
        : body === undefined
          ? undefined
          : 'application/json';
    if (Object.keys(headers).length === 0) return send(`${urls.get(app)}${path}`, method, raw, contentType);
    return fetch(`${urls.get(app)}${path}`, {
      method,
      headers: { 'x-api-key': API_KEY, ...(contentType ? { 'content-type': contentType } : {}), ...headers },
      body: raw,
    }).then(async (response) => {
      const text = await response.text();
      return { status: response.status, text, json: <T>() => JSON.parse(text) as T };
    });
  };
  const ok = async (promise: Promise<Answer>, what: string) => {
    const answer = await promise;
    if (answer.status >= 300) throw new Error(`${what}: HTTP ${answer.status} ${answer.text}`);
    return answer.json();
  };
  try {
    apps.set('data', await startDataApp(DataConfig.load(env)));
    apps.set('registry', await startRegistryApp(RegistryConfig.load(env)));
    apps.set('inference', await startInferenceApp(InferenceConfig.load(env)));
    apps.set('trainer', await startTrainerApp(TrainerConfig.load(env)));

    const imported = await ok(call('data', 'POST', '/datasets/iris/import', {}), 'importing iris');
    const schema = (imported.version as { schema: { features: string[]; labels: string[] } }).schema;
    const bytes = classifier(schema.features, schema.labels);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    await ok(
      call('registry', 'POST', '/artifacts', bytes, { 'x-content-sha256': sha256 }),
      'uploading the model',
    );
    const runIds: string[] = [];
    const versions: number[] = [];
    for (let i = 0; i < 2; i++) {
      const run = await ok(
        call('registry', 'POST', '/runs', { experiment: 'fuzz', dataset: 'iris' }),
        'a run',
      );
      runIds.push(String(run.id));
      const version = await ok(
        call('registry', 'POST', `/models/${modelName}/versions`, { runId: run.id, sha256 }),
        'registering the model',
      );
      versions.push(Number(version.version));
    }
    await ok(
      call('registry', 'PUT', `/models/${modelName}/aliases/champion`, {
        version: versions[0],
        reason: 'fuzz setup',
      }),
      'promoting the model',
    );
    // Loading and warming the model takes well under a second alone; other suites may share the cores.
    await waitFor(async () => (await call('inference', 'GET', '/model')).json().served === true, {
      timeoutMs: 60_000,
      description: 'the gateway to serve the champion',
    });
    return {
      apps,
      urls,
      world: {
        dataset: 'iris',
        features: schema.features,
        labels: schema.labels,
        modelName,
        modelSha256: sha256,
        runIds,
        versions,
      },
      call,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
