/** What the inference benchmarks share: ONNX models, a minimal registry, wrk scripts and wrk runs. */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { encodeOnnxMetadata } from '@sepal/contracts';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppMetricsRegistry } from '@sepal/observability';
import { InferenceConfig, ModelManager, startInferenceApp } from '../apps/inference/src';
import { exportDenseClassifierToOnnx } from '@sepal/ml';
import { printSettings } from './settings';

export const IRIS_FEATURES = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];
/** One Iris row as the benchmarks POST it to /predict (88 bytes of JSON). */
export const IRIS_ROW_BODY = JSON.stringify({
  features: { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 },
});
const LABELS = ['Iris-setosa', 'Iris-versicolor', 'Iris-virginica'];
const RUN_ID = '00000000-0000-4000-8000-000000000000';

export interface BenchVersion {
  version: number;
  sha256: string;
  bytes: Uint8Array;
}

/**
 * A registered model of the benchmark: versions 1..n of a small softmax classifier; `champion` is served. `variant`
 * moves the middle class's bias, so models of one benchmark have weights of their own.
 */
export class BenchModel {
  readonly versions: BenchVersion[] = [];
  champion = 1;

  static nameOf(index: number): string {
    return `model-${String(index).padStart(2, '0')}`;
  }

  constructor(
    readonly name: string,
    features: readonly string[],
    versions: number,
    variant = 0,
  ) {
    for (let v = 1; v <= versions; v++) {
      const bytes = exportDenseClassifierToOnnx(
        {
          featureNames: [...features],
          labels: LABELS,
          standardizer: { mean: [5.8, 3.0, 3.8, 1.2], std: [0.8, 0.4, 1.8, 0.8] },
          layers: [
            {
              kernel: new Float32Array([0.1, 0.2, -0.1, -0.2, 0.1, 0.3, -3, 0, 3, -1, 0, 1]),
              bias: new Float32Array([(v % 5) * 0.3, 1 + variant * 0.01, -(v % 5) * 0.3]),
              inputs: 4,
              units: 3,
              activation: 'softmax',
            },
          ],
        },
        encodeOnnxMetadata({
          modelName: name,
          labels: LABELS,
          featureNames: [...features],
          datasetVersion: '0'.repeat(64),
          runId: RUN_ID,
          featureReference: null,
        }),
      );
      this.versions.push({ version: v, bytes, sha256: createHash('sha256').update(bytes).digest('hex') });
    }
  }
}

/**
 * The registry endpoints the gateway reads: model list, champion alias, versions, artifacts (no splits), and
 * POST /keys/verify for the secrets in `keys` (a gateway with keys on asks it once per key, then caches the answer).
 */
export async function miniRegistry(
  models: BenchModel[],
  keys: Record<string, { name: string; scopes: string[] }> = {},
): Promise<{ server: Server; url: string }> {
  const byName = new Map(models.map((model) => [model.name, model]));
  const bySha = new Map(models.flatMap((model) => model.versions.map((v) => [v.sha256, v] as const)));
  let url = '';
  const view = (model: BenchModel, v: BenchVersion) => ({
    name: model.name,
    version: v.version,
    runId: RUN_ID,
    sha256: v.sha256,
    size: v.bytes.length,
    artifactUrl: `${url}/artifacts/${v.sha256}`,
    signature: null,
    metrics: {},
    description: null,
    createdAt: new Date(0).toISOString(),
  });
  const server = createServer((request, response) => {
    const path = (request.url ?? '').split('?')[0];
    const json = (status: number, body: unknown) =>
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (path === '/keys/verify' && request.method === 'POST') {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        const identity = keys[(JSON.parse(body) as { secret: string }).secret];
        if (identity) json(200, identity);
        else json(401, { message: 'unknown or revoked key' });
      });
      return;
    }
    const artifact = /^\/artifacts\/([0-9a-f]{64})$/.exec(path);
    if (artifact && bySha.has(artifact[1])) {
      response.writeHead(200).end(Buffer.from(bySha.get(artifact[1])!.bytes));
      return;
    }
    if (path === '/models') {
      json(200, {
        models: models.map((m) => ({ name: m.name, aliases: { champion: m.champion } })),
        nextPageToken: null,
      });
      return;
    }
    const alias = /^\/models\/([^/]+)\/aliases\/champion$/.exec(path);
    const model = alias && byName.get(decodeURIComponent(alias[1]));
    if (model) {
      json(200, { ...view(model, model.versions[model.champion - 1]), alias: 'champion' });
      return;
    }
    const version = /^\/models\/([^/]+)\/versions\/(\d+)$/.exec(path);
    const versioned = version && byName.get(decodeURIComponent(version[1]));
    if (versioned && versioned.versions[Number(version[2]) - 1]) {
      json(200, view(versioned, versioned.versions[Number(version[2]) - 1]));
      return;
    }
    json(404, { message: 'not found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { server, url };
}

/**
 * A wrk Lua script POSTing `body` as JSON with `headers` (to each of `paths` in turn when given, else to the URL's
 * path) and printing a JSON summary line at the end.
 */
export function wrkScript(
  dir: string,
  name: string,
  body: string,
  paths: string[] = [],
  headers: Record<string, string> = {},
): string {
  const file = join(dir, `${name}.lua`);
  const lua = [
    `wrk.method = "POST"`,
    `wrk.body = ${JSON.stringify(body)}`,
    `wrk.headers["Content-Type"] = "application/json"`,
    ...Object.entries(headers).map(
      ([header, value]) => `wrk.headers[${JSON.stringify(header)}] = ${JSON.stringify(value)}`,
    ),
    ...(paths.length
      ? [
          // Each request is formatted once per thread: formatting it for every request cost wrk (which shares the
          // machine's cores with the server) about 4 us of CPU per request more than the single-path runs.
          `local paths = {${paths.map((p) => JSON.stringify(p)).join(', ')}}`,
          `local requests = {}`,
          `init = function(args)`,
          `  for k = 1, #paths do requests[k] = wrk.format(nil, paths[k]) end`,
          `end`,
          `local i = 0`,
          `request = function()`,
          `  i = i + 1`,
          `  return requests[(i % #requests) + 1]`,
          `end`,
        ]
      : []),
    `done = function(summary, latency, requests)`,
    `  local e = summary.errors`,
    `  io.write(string.format("WRKJSON {\\"requests\\":%d,\\"duration\\":%d,\\"p50\\":%d,\\"p99\\":%d,\\"errors\\":%d,\\"non2xx\\":%d}\\n",`,
    `    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),`,
    `    e.connect + e.read + e.write + e.timeout, e.status))`,
    `end`,
  ].join('\n');
  writeFileSync(file, lua);
  return file;
}

export interface WrkFigures {
  rps: number;
  /** milliseconds */
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  requests: number;
}

/** Runs wrk (one thread, its own process) against `url` with `connections` for `seconds`. */
export function runWrk(
  url: string,
  script: string,
  connections: number,
  seconds: number,
): Promise<WrkFigures> {
  const wrk = process.env.WRK ?? '/usr/bin/wrk';
  return new Promise((resolve, reject) => {
    const child = spawn(wrk, [
      '-t1',
      `-c${connections}`,
      `-d${seconds}s`,
      '--timeout',
      '10s',
      '-s',
      script,
      url,
    ]);
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', (error) =>
      reject(new Error(`cannot run ${wrk} (apt-get install wrk): ${error.message}`)),
    );
    child.on('close', () => {
      const line = /WRKJSON (\{.*\})/.exec(out);
      if (!line) return reject(new Error(`wrk printed no summary:\n${out}`));
      const s = JSON.parse(line[1]) as Record<string, number>;
      resolve({
        rps: s.requests / (s.duration / 1e6),
        p50: s.p50 / 1000,
        p99: s.p99 / 1000,
        errors: s.errors,
        non2xx: s.non2xx,
        requests: s.requests,
      });
    });
  });
}

/**
 * A gateway as the benchmarks start it: in this process on a free port, embedded (no broker), reading `registryUrl`,
 * with the defaults of `npm start` (the prediction rate limit is off by default, keys on or off) but for a quiet log
 * and no background champion sync; `env` adds or overrides variables. Prints the settings changed under `label`.
 */
export function startBenchGateway(
  registryUrl: string,
  namespace: string,
  env: Record<string, string> = {},
  label = 'gateway',
): Promise<NestFastifyApplication> {
  const overrides = { MODEL_NAME: 'model-01', MODEL_SYNC_INTERVAL_MS: '0', LOG_LEVEL: 'warn', ...env };
  printSettings(label, overrides);
  return startInferenceApp(
    InferenceConfig.load({
      ...process.env,
      INFERENCE_PORT: '0',
      INFERENCE_HOST: '127.0.0.1',
      REGISTRY_URL: registryUrl,
      AMQP_URL: undefined,
      SEPAL_NAMESPACE: namespace,
      ...overrides,
    }),
  );
}

/** The sum of an app's counter `name` over the series matching `labels` (0 when it has none). */
export async function counterValue(
  app: NestFastifyApplication,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const metric = await app.get(AppMetricsRegistry).getSingleMetric(name)?.get();
  return (metric?.values ?? [])
    .filter((v) => Object.entries(labels).every(([k, value]) => v.labels[k] === value))
    .reduce((sum, v) => sum + v.value, 0);
}

/** Resolves once `app` serves its default model's champion (the bench gateway loads it from the mini registry). */
export async function servingChampion(app: NestFastifyApplication): Promise<void> {
  const manager = app.get(ModelManager);
  while (manager.defaultModel.champion.model === null)
    await new Promise((resolve) => setTimeout(resolve, 50));
}
