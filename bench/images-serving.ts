/**
 * Image serving benchmark: `npm run bench:images-serving` (env BENCH_SECONDS per run, default 5).
 *
 * The model is the default image architecture's size (two 3x3 'same' convolution blocks of 16 and 32 filters with
 * 2x2 max pooling, a Dense 128 ReLU layer, a softmax over 10 classes) with seeded random weights, exported from
 * TypeScript to ONNX with a uint8 [N, 28, 28, 1] input, as a trained Fashion-MNIST model is; the weights do not
 * change the cost. The load generator is wrk (/usr/bin/wrk), its own process, one thread. In one run:
 *   - baseline: onnxruntime-node called directly (same session options as the gateway), batches of 64 in a loop
 *     (images/s) and single images one after another (p50/p99 of a run);
 *   - baseline over HTTP: a bare node:http server that base64-decodes PNGs with pngjs and runs the same session;
 *   - Sepal's gateway, defaults of `npm start`: POST /predict/{model} with {"images": [64 base64 PNGs]} at c=4
 *     (images/s), {"image": "<base64 PNG>"} at c=16 (p99), a multipart PNG upload at c=16, and the OIP UINT8 tensor
 *     [64, 28, 28, 1] at c=4.
 * Printed: images/s, req/s, p50, p99, errors, the ratio to the bare server, the gateway's settings and the load
 * average before and after. Targets (issue 27): >= 3,000 images/s in batches of 64, p99 <= 10 ms at c=16.
 */
import { createHash } from 'node:crypto';
import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { encodeOnnxMetadata } from '@sepal/contracts';
import {
  createRng,
  exportCnnClassifierToOnnx,
  FASHION_MNIST_CLASSES,
  randomCnnClassifierSpec,
} from '@sepal/ml';
import {
  BenchModel,
  IRIS_FEATURES,
  miniRegistry,
  runWrk,
  startBenchGateway,
  wrkScript,
  type WrkFigures,
} from './inference-support';
import { runBench } from './support';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const BATCH = 64;
const MODEL = 'model-01';
const LABELS = [...FASHION_MNIST_CLASSES];
const SIZE = 28 * 28;

function imagePixels(count: number, seed: number): Uint8Array {
  const rng = createRng(seed);
  return Uint8Array.from({ length: count * SIZE }, (_, i) => ((i % 28) * 9 + Math.floor(rng() * 40)) & 255);
}

function png(pixels: Uint8Array): Buffer {
  const image = new PNG({ width: 28, height: 28, colorType: 0, inputColorType: 0, bitDepth: 8 });
  image.data = Buffer.from(pixels);
  return PNG.sync.write(image, { colorType: 0, inputColorType: 0 });
}

function cnnBytes(): Uint8Array {
  const spec = randomCnnClassifierSpec({ height: 28, width: 28, channels: 1 }, LABELS, createRng(27), {
    filters: 16,
    blocks: 2,
    denseUnits: 128,
  });
  const image = { height: 28, width: 28, channels: 1 as const, inputType: 'uint8' as const };
  return exportCnnClassifierToOnnx(spec, encodeOnnxMetadata({ modelName: MODEL, labels: LABELS, image }), {
    inputType: 'uint8',
  });
}

const sessionOptions: InferenceSession.SessionOptions = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
};

/** onnxruntime directly: batches of 64 for SECONDS (images/s), then single images (p50/p99 of one run). */
async function direct(session: InferenceSession, pixels: Uint8Array) {
  const batch = new Tensor('uint8', pixels.subarray(0, BATCH * SIZE), [BATCH, 28, 28, 1]);
  let images = 0;
  const started = performance.now();
  while (performance.now() - started < SECONDS * 1000) {
    await session.run({ features: batch });
    images += BATCH;
  }
  const imagesPerSecond = images / ((performance.now() - started) / 1000);
  const single = new Tensor('uint8', pixels.subarray(0, SIZE), [1, 28, 28, 1]);
  const latencies: number[] = [];
  const singleStart = performance.now();
  while (performance.now() - singleStart < SECONDS * 1000) {
    const t = performance.now();
    await session.run({ features: single });
    latencies.push(performance.now() - t);
  }
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
  return { imagesPerSecond, p50: at(0.5), p99: at(0.99), runsPerSecond: latencies.length / SECONDS };
}

/** A bare node:http server: JSON {"image"} or {"images"} of base64 PNGs, pngjs, the same session, the class names. */
function bareServer(session: InferenceSession): Server {
  return createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        image?: string;
        images?: string[];
      };
      const images = body.images ?? [body.image as string];
      const pixels = new Uint8Array(images.length * SIZE);
      images.forEach((b64, i) => {
        const rgba = PNG.sync.read(Buffer.from(b64, 'base64')).data;
        for (let p = 0; p < SIZE; p++) pixels[i * SIZE + p] = rgba[p * 4];
      });
      session
        .run({ features: new Tensor('uint8', pixels, [images.length, 28, 28, 1]) })
        .then((out) => {
          const labels = out['label']!.data as BigInt64Array;
          const answer = Array.from(labels, (label) => ({ class: LABELS[Number(label)] }));
          response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
        })
        .catch(() => response.writeHead(500).end());
    });
  });
}

/** A wrk script POSTing a binary (latin1) body, escaped byte by byte for Lua, with its summary line. */
function binaryScript(dir: string, name: string, body: string, contentType: string): string {
  const file = wrkScript(dir, name, '', [], { 'Content-Type': contentType });
  const escaped = Array.from(
    Buffer.from(body, 'latin1'),
    (byte) => `\\${String(byte).padStart(3, '0')}`,
  ).join('');
  const lua = readFileSync(file, 'utf8').replace('wrk.body = ""', `wrk.body = "${escaped}"`);
  writeFileSync(file, lua);
  return file;
}

const listen = async (server: Server): Promise<string> => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};

const ms = (value: number) => `${value.toFixed(2)} ms`;

function line(name: string, figures: WrkFigures, imagesPerRequest: number, baseline?: WrkFigures): void {
  const images = figures.rps * imagesPerRequest;
  const ratio = baseline ? `  ${(figures.rps / baseline.rps).toFixed(2)}x bare` : '';
  console.log(
    `${name.padEnd(44)} ${images.toFixed(0).padStart(7)} images/s ${figures.rps.toFixed(0).padStart(6)} req/s` +
      `  p50 ${ms(figures.p50)}  p99 ${ms(figures.p99)}  errors ${figures.errors + figures.non2xx}${ratio}`,
  );
}

async function main(): Promise<void> {
  console.log(
    `bench:images-serving  ${SECONDS} s per run, wrk 1 thread, load average before ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  const bytes = cnnBytes();
  const pixels = imagePixels(BATCH, 1);
  const pngs = Array.from({ length: BATCH }, (_, i) =>
    png(pixels.subarray(i * SIZE, (i + 1) * SIZE)).toString('base64'),
  );
  const session = await InferenceSession.create(bytes, sessionOptions);
  const baseline = await direct(session, pixels);
  console.log(
    `onnxruntime directly (1 intra-op thread)     ${baseline.imagesPerSecond.toFixed(0).padStart(7)} images/s in batches of ${BATCH};` +
      ` single image ${baseline.runsPerSecond.toFixed(0)} runs/s, p50 ${ms(baseline.p50)}, p99 ${ms(baseline.p99)}`,
  );

  const model = new BenchModel(MODEL, IRIS_FEATURES, 1);
  model.versions[0] = {
    version: 1,
    bytes,
    sha256: createHash('sha256').update(bytes).digest('hex'),
  };
  const registry = await miniRegistry([model]);
  const gateway = await startBenchGateway(registry.url, `bench-images-${process.pid}`, { MODEL_NAME: MODEL });
  const gatewayUrl = (await gateway.getUrl()).replace('[::1]', '127.0.0.1');
  const bare = bareServer(session);
  const bareUrl = await listen(bare);

  const dir = mkdtempSync(join(tmpdir(), 'sepal-bench-images-'));
  const batchBody = JSON.stringify({ images: pngs });
  const singleBody = JSON.stringify({ image: pngs[0] });
  const boundary = 'sepalbenchboundary';
  const multipartBody =
    `--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n` +
    Buffer.from(pngs[0], 'base64').toString('latin1') +
    `\r\n--${boundary}--\r\n`;
  const tensorBody = JSON.stringify({
    inputs: [{ name: 'features', datatype: 'UINT8', shape: [BATCH, 28, 28, 1], data: Array.from(pixels) }],
  });
  const scripts = {
    batch: wrkScript(dir, 'batch', batchBody),
    single: wrkScript(dir, 'single', singleBody),
    multipart: binaryScript(dir, 'multipart', multipartBody, `multipart/form-data; boundary=${boundary}`),
    tensor: wrkScript(dir, 'tensor', tensorBody),
  };
  for (let tries = 0; (await fetch(`${gatewayUrl}/health/ready`)).status !== 200; tries++) {
    if (tries > 200) throw new Error('the gateway did not load the model within 20 s');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  // Each request answers 200 before it is measured.
  for (const [path, body, type] of [
    [`/predict/${MODEL}`, singleBody, 'application/json'],
    [`/predict/${MODEL}`, batchBody, 'application/json'],
    [`/v2/models/${MODEL}/infer`, tensorBody, 'application/json'],
    [`/predict/${MODEL}`, Buffer.from(multipartBody, 'latin1'), `multipart/form-data; boundary=${boundary}`],
  ] as const) {
    const response = await fetch(`${gatewayUrl}${path}`, {
      method: 'POST',
      body,
      headers: { 'content-type': type },
    });
    if (response.status !== 200)
      throw new Error(`${path} answered ${response.status}: ${await response.text()}`);
  }
  // Warm both servers and the JIT.
  await runWrk(`${gatewayUrl}/predict/${MODEL}`, scripts.single, 4, 1);
  await runWrk(bareUrl, scripts.single, 4, 1);

  const bareBatch = await runWrk(bareUrl, scripts.batch, 4, SECONDS);
  const gatewayBatch = await runWrk(`${gatewayUrl}/predict/${MODEL}`, scripts.batch, 4, SECONDS);
  const gatewayTensor = await runWrk(`${gatewayUrl}/v2/models/${MODEL}/infer`, scripts.tensor, 4, SECONDS);
  const bareSingle = await runWrk(bareUrl, scripts.single, 16, SECONDS);
  const gatewaySingle = await runWrk(`${gatewayUrl}/predict/${MODEL}`, scripts.single, 16, SECONDS);
  const gatewayMultipart = await runWrk(`${gatewayUrl}/predict/${MODEL}`, scripts.multipart, 16, SECONDS);

  console.log('\nbatches of 64 images, c=4');
  line('bare node:http + pngjs + onnxruntime', bareBatch, BATCH);
  line('Sepal POST /predict/{model} {"images"}', gatewayBatch, BATCH, bareBatch);
  line('Sepal OIP UINT8 [64, 28, 28, 1]', gatewayTensor, BATCH, bareBatch);
  console.log('\nsingle images, c=16');
  line('bare node:http + pngjs + onnxruntime', bareSingle, 1);
  line('Sepal POST /predict/{model} {"image"}', gatewaySingle, 1, bareSingle);
  line('Sepal POST /predict/{model} multipart', gatewayMultipart, 1, bareSingle);
  console.log(
    `\ntargets: >= 3000 images/s in batches of 64 (${gatewayBatch.rps * BATCH >= 3000 ? 'met' : 'NOT met'}), ` +
      `single-image p99 <= 10 ms at c=16 (${gatewaySingle.p99 <= 10 ? 'met' : 'NOT met'})`,
  );
  console.log(
    `load average after ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  bare.close();
  registry.server.close();
  await gateway.close();
  await session.release();
}

runBench(main);
