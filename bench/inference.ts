/**
 * Inference benchmark: `npm run bench:inference` (env BENCH_SECONDS, default 5; AMQP_URL to use RabbitMQ for the
 * promotions, else the in-process bus; PREDICT_BATCH_WINDOW_US to try request coalescing).
 * Drives POST /predict with autocannon at concurrency 1, 16 and 64, compares c=64 with a bare node:http JSON echo,
 * then repeats c=64 while a promotion happens every 2 seconds and reports non-2xx answers and event-to-served time.
 */
import autocannon from 'autocannon';
import { createHash } from 'node:crypto';
import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventNames } from '@sepal/contracts';
import { EventBus } from '@sepal/messaging';
import { exportDenseClassifierToOnnx } from '@sepal/ml';
import { InferenceConfig, ModelManager, startInferenceApp } from '../apps/inference/src';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const MODEL = 'IrisModel';
const FEATURES = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];
const LABELS = ['Iris-setosa', 'Iris-versicolor', 'Iris-virginica'];
const BODY = JSON.stringify({
  features: { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 },
});

function model(shift: number): Uint8Array {
  return exportDenseClassifierToOnnx(
    {
      featureNames: FEATURES,
      labels: LABELS,
      standardizer: { mean: [5.8, 3.0, 3.8, 1.2], std: [0.8, 0.4, 1.8, 0.8] },
      layers: [
        {
          kernel: new Float32Array([0.1, 0.2, -0.1, -0.2, 0.1, 0.3, -3, 0, 3, -1, 0, 1]),
          bias: new Float32Array([shift, 1, -shift]),
          inputs: 4,
          units: 3,
          activation: 'softmax',
        },
      ],
    },
    {
      model_name: MODEL,
      label_map: JSON.stringify(LABELS),
      feature_names: JSON.stringify(FEATURES),
      dataset_version: '0'.repeat(64),
      run_id: '00000000-0000-4000-8000-000000000000',
    },
  );
}

interface Version {
  version: number;
  sha256: string;
  bytes: Uint8Array;
}

/** The two registry endpoints the gateway reads. */
async function miniRegistry(
  versions: Version[],
  champion: () => number,
): Promise<{ server: Server; url: string }> {
  const server = createServer((request, response) => {
    const artifact = /^\/artifacts\/([0-9a-f]{64})$/.exec(request.url ?? '');
    const found = artifact && versions.find((v) => v.sha256 === artifact[1]);
    if (found) {
      response.writeHead(200, { 'x-content-sha256': found.sha256 }).end(Buffer.from(found.bytes));
      return;
    }
    if (request.url === `/models/${MODEL}/aliases/champion`) {
      const v = versions.find((item) => item.version === champion())!;
      response.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          name: MODEL,
          version: v.version,
          sha256: v.sha256,
          artifactUrl: `/artifacts/${v.sha256}`,
        }),
      );
      return;
    }
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function echoServer(): Promise<{ server: Server; url: string }> {
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = JSON.stringify(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      response.writeHead(200, { 'content-type': 'application/json' }).end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

interface Figures {
  label: string;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

async function drive(label: string, url: string, connections: number, seconds = SECONDS): Promise<Figures> {
  const result = await autocannon({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: BODY,
    connections,
    duration: seconds,
    workers: 1,
  });
  return {
    label,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}

const print = (f: Figures) =>
  console.log(
    `${f.label.padEnd(34)} ${f.rps.toFixed(0).padStart(7)} req/s   p50 ${f.p50.toFixed(2).padStart(6)} ms   p99 ${f.p99
      .toFixed(2)
      .padStart(6)} ms   errors ${f.errors}   non-2xx ${f.non2xx}`,
  );

async function main(): Promise<void> {
  const versions: Version[] = [];
  for (let i = 1; i <= 40; i++) {
    const bytes = model((i % 5) * 0.3);
    versions.push({ version: i, bytes, sha256: createHash('sha256').update(bytes).digest('hex') });
  }
  const registry = await miniRegistry(versions, () => 1);
  const app = await startInferenceApp(
    InferenceConfig.load({
      ...process.env,
      INFERENCE_PORT: '0',
      INFERENCE_HOST: '127.0.0.1',
      REGISTRY_URL: registry.url,
      MODEL_NAME: MODEL,
      MODEL_RETRY_INTERVAL_MS: '100',
      LOG_LEVEL: 'warn',
      SEPAL_NAMESPACE: process.env.AMQP_URL ? `bench_${Date.now().toString(36)}` : undefined,
    }),
  );
  const holder = app.get(ModelManager).defaultModel.champion;
  while (!holder.model) await new Promise((resolve) => setTimeout(resolve, 50));
  const predictUrl = `${(await app.getUrl()).replace('[::1]', '127.0.0.1')}/predict`;
  console.log(
    `POST /predict, ${SECONDS} s per run, node ${process.version}, PREDICT_COALESCE=${process.env.PREDICT_COALESCE ?? true}, PREDICT_BATCH_WINDOW_US=${process.env.PREDICT_BATCH_WINDOW_US ?? 0}, bus: ${process.env.AMQP_URL ? 'RabbitMQ' : 'in-process'}`,
  );
  await drive('warm-up', predictUrl, 16, 1);
  const runs: Figures[] = [];
  for (const c of [1, 16, 64]) {
    runs.push(await drive(`gateway c=${c}`, predictUrl, c));
    print(runs.at(-1)!);
  }
  const echo = await echoServer();
  const baseline = await drive('bare node:http JSON echo c=64', echo.url, 64);
  print(baseline);
  echo.server.close();
  console.log(`ratio gateway/echo at c=64: ${(runs[2].rps / baseline.rps).toFixed(2)} (target >= 0.40)`);

  // c=64 while a promotion happens every 2 s.
  const bus = app.get(EventBus);
  const eventToServed: number[] = [];
  let next = 2;
  let stop = false;
  const promoter = (async () => {
    while (!stop && next <= versions.length) {
      await new Promise((resolve) => setTimeout(resolve, 2000));
      if (stop) break;
      const v = versions[next - 1];
      const started = performance.now();
      await bus.publish(EventNames.ModelPromoted, {
        modelName: MODEL,
        alias: 'champion',
        version: v.version,
        sha256: v.sha256,
        artifactUrl: `${registry.url}/artifacts/${v.sha256}`,
        previousVersion: v.version - 1,
        reason: 'bench',
        promotedBy: 'bench',
        promotedAt: new Date().toISOString(),
      });
      while (holder.model?.info.version !== v.version) await new Promise((resolve) => setTimeout(resolve, 1));
      eventToServed.push(performance.now() - started);
      next++;
    }
  })();
  const reloading = await drive('gateway c=64, promotion every 2 s', predictUrl, 64, Math.max(SECONDS, 7));
  stop = true;
  await promoter;
  print(reloading);
  const sorted = [...eventToServed].sort((a, b) => a - b);
  console.log(
    `promotions: ${eventToServed.length}, served v${holder.model?.info.version}; event-to-served ms: ` +
      `median ${sorted[Math.floor(sorted.length / 2)]?.toFixed(1)}, max ${sorted.at(-1)?.toFixed(1)}; non-2xx during reloads: ${reloading.non2xx}`,
  );
  await app.close();
  registry.server.close();
  if (reloading.non2xx > 0 || reloading.errors > 0) process.exitCode = 1;
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
