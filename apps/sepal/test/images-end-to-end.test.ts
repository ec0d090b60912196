/** @jest-environment ./libs/ml/test/onnxruntime-environment.ts */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import puppeteer from 'puppeteer-core';
import type { JobView, ModelView, RunView } from '@sepal/contracts';
import { closeEmbeddedDatabases } from '@sepal/persistence';
import { createRng, writeZip } from '@sepal/ml';
import { NO_CROSS_VALIDATION, startEmbeddedSystem, type EmbeddedSystem } from '@sepal/testing';
import { MISCLASSIFIED_EXAMPLES } from '../../trainer/src';
import { launchSystem, type LaunchedSystem } from '../src/up/launcher';

const SIDE = 16;
const SHAPES = ['square', 'hbar', 'vbar'] as const;
type Shape = (typeof SHAPES)[number];

/** A grey PNG of a light shape on a dark, noisy background, at a random place: classes a tiny CNN tells apart. */
function shapePng(shape: Shape, random: () => number): Buffer {
  const image = new PNG({ width: SIDE, height: SIDE });
  const [h, w] = shape === 'square' ? [6, 6] : shape === 'hbar' ? [2, 12] : [12, 2];
  const top = Math.floor(random() * (SIDE - h + 1));
  const left = Math.floor(random() * (SIDE - w + 1));
  for (let y = 0; y < SIDE; y++) {
    for (let x = 0; x < SIDE; x++) {
      const inside = y >= top && y < top + h && x >= left && x < left + w;
      const value = inside ? 200 + Math.floor(random() * 55) : Math.floor(random() * 40);
      const at = (y * SIDE + x) * 4;
      image.data[at] = image.data[at + 1] = image.data[at + 2] = value;
      image.data[at + 3] = 255;
    }
  }
  return PNG.sync.write(image);
}

/*
 * An image dataset through the whole loop on the embedded system (`sepal up`): 210 generated PNGs of three shapes in
 * class folders are imported as a zip, trained as a CNN by POST /train (trials in the worker threads on the WASM
 * backend, its Conv2DBackpropFilter kernel registered there), exported with the image metadata, checked for parity,
 * registered, gated and promoted, and the gateway answers a PNG with its class_name. Needs `npm run build` first.
 */
describe('images end to end: import, train a CNN, promote, serve a PNG (embedded)', () => {
  let embedded: EmbeddedSystem<LaunchedSystem>;
  let system: LaunchedSystem;
  const url = (name: string) => system.apps.find((a) => a.name === name)!.url;
  const seed = 27;
  /** The trained model's parent run (the first test trains it). */
  let runId = '';

  beforeAll(async () => {
    embedded = await startEmbeddedSystem(launchSystem, {
      name: 'images-e2e',
      dataDir: join(__dirname, '../../../data'),
      env: { GATE_MIN_ACCURACY: '0', TRAINER_WORKERS: '1', TF_BACKEND: 'wasm', ...NO_CROSS_VALIDATION },
    });
    system = embedded.system;
  }, 120_000);

  afterAll(async () => {
    await embedded?.close();
    await closeEmbeddedDatabases();
  });

  it('trains the default-family CNN on an imported image set and serves a PNG with class_name', async () => {
    console.log(`images end to end: seed ${seed}`);
    const random = createRng(seed);
    const files = SHAPES.flatMap((shape) =>
      Array.from({ length: 70 }, (_, i) => ({ name: `${shape}/${i}.png`, data: shapePng(shape, random) })),
    );
    const imported = await fetch(
      `${url('data')}/datasets/shapes/images/import?height=16&width=16&channels=1`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/zip', 'x-sepal-client': '1' },
        body: writeZip(files),
      },
    );
    expect({ status: imported.status, text: imported.status === 201 ? '' : await imported.text() }).toEqual({
      status: 201,
      text: '',
    });

    // No model in the grid: an image dataset trains model cnn. A tiny network, two epochs.
    const accepted = await fetch(`${url('trainer')}/train`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-sepal-client': '1' },
      body: JSON.stringify({
        dataset: 'shapes',
        grid: { filters: [4] },
        params: { convBlocks: 1, denseUnits: 16, dropout: 0, batchSize: 16, epochs: 2, learningRate: 0.01 },
        seed,
      }),
    });
    expect(accepted.status).toBe(202);
    const { jobId } = (await accepted.json()) as { jobId: string };
    const job = await waitForJob(jobId);
    expect({ state: job.state, error: job.error ?? null }).toEqual({ state: 'succeeded', error: null });
    const steps = Object.fromEntries(job.steps.map((step) => [step.step, step.state]));
    expect(steps).toMatchObject({ 'train-trials': 'succeeded', export: 'succeeded', parity: 'succeeded' });
    const summary = (id: string) => job.steps.find((step) => step.step === id)!.summary;
    expect(summary('resolve-data')).toMatchObject({ image_shape: '16x16x1', backend: 'wasm', trials: 1 });
    expect(summary('select').params).toBe('model=cnn filters=4');
    console.log(job.steps.map((step) => `${step.step}: ${JSON.stringify(step.summary)}`).join('\n'));

    const model = (await (await fetch(`${url('registry')}/models/ShapesModel`)).json()) as ModelView;
    const version = model.versions.at(-1)!;
    expect(model.aliases.champion).toBe(version.version);
    expect(version.metrics.test_accuracy).toBeGreaterThanOrEqual(0);
    expect(version.metrics).toHaveProperty('test_macro_f1');
    expect(version.metrics.onnx_parity_max_abs_diff).toBeLessThanOrEqual(1e-4);
    expect(version.metrics.onnx_parity_label_mismatches).toBe(0);
    // The parent run names the test images it got wrong by their content hash, each one served by the data service.
    const parent = (await (await fetch(`${url('registry')}/runs/${version.runId}`)).json()) as RunView;
    const misclassified = JSON.parse(parent.tags.misclassified) as { id: string; label: string }[];
    const wrong = Math.round((1 - version.metrics.test_accuracy) * version.metrics.test_rows);
    console.log(`misclassified test images: ${wrong} of ${version.metrics.test_rows}`);
    expect(misclassified.length).toBe(Math.min(wrong, MISCLASSIFIED_EXAMPLES));
    for (const example of misclassified.slice(0, 3)) {
      const png = await fetch(`${url('data')}/datasets/shapes/images/${example.id}`);
      expect({ status: png.status, type: png.headers.get('content-type') }).toEqual({
        status: 200,
        type: 'image/png',
      });
    }
    runId = version.runId!;

    // The gateway hears the promotion and loads the model; a PNG of the declared size answers a class name.
    const image = shapePng('square', random).toString('base64');
    let answer: { class_name?: string } = {};
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const response = await fetch(`${url('inference')}/predict/ShapesModel`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ image }),
      });
      if (response.status === 200) {
        answer = (await response.json()) as { class_name?: string };
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(SHAPES as readonly string[]).toContain(answer.class_name);
  }, 90_000);

  it("classifies an image chosen on the console's predict page", async () => {
    const png = join(embedded.modelsDir, 'hbar.png');
    writeFileSync(png, shapePng('hbar', createRng(seed + 1)));
    const browser = await puppeteer.launch({
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      headless: true,
      args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
    });
    try {
      const page = await browser.newPage();
      await page.goto(`${url('console')}/predict`, { waitUntil: 'load' });
      // The gateway's default model is Iris: choose the image model, whose page takes an image instead of a row.
      await page.waitForSelector('#predict-model', { timeout: 20_000 });
      await page.select('#predict-model', 'ShapesModel');
      await page.waitForSelector('#image-file', { timeout: 20_000 });
      expect(await page.$eval('[data-testid="image-drop"]', (el) => el.textContent)).toContain(
        'PNG or JPEG of 16×16 pixels (grey)',
      );
      expect(await page.$('#f-sepal_length')).toBeNull();
      await (await page.$('#image-file'))!.uploadFile(png);
      await page.waitForSelector('[data-testid="prediction"]', { timeout: 20_000 });
      expect(await page.$eval('[data-testid="prediction"]', (el) => el.textContent)).toMatch(
        /Predicted (square|hbar|vbar) by ShapesModel v1/,
      );
      // The picture sent is shown (the console's Content-Security-Policy takes data: images only).
      expect(
        await page.$eval('img.preview', (img) => (img as unknown as { naturalWidth: number }).naturalWidth),
      ).toBe(16);
      // The run page shows its confusion matrix and its misclassified test images (or says there were none).
      await page.goto(`${url('console')}/runs/${runId}`, { waitUntil: 'load' });
      await page.waitForSelector('[data-testid="misclassified"]', { timeout: 20_000 });
      const shown = await page.$$eval('[data-testid="misclassified"] figure', (figures) => figures.length);
      const run = (await (await fetch(`${url('registry')}/runs/${runId}`)).json()) as RunView;
      expect(shown).toBe((JSON.parse(run.tags.misclassified) as unknown[]).length);
    } finally {
      await browser.close();
    }
  }, 60_000);

  async function waitForJob(jobId: string): Promise<JobView> {
    const deadline = Date.now() + 80_000;
    let last = '';
    while (Date.now() < deadline) {
      const response = await fetch(`${url('registry')}/jobs/${jobId}`);
      last = `${response.status} ${(await response.clone().text()).slice(0, 2000)}`;
      if (response.status === 200) {
        const job = (await response.json()) as JobView;
        if (['succeeded', 'failed', 'cancelled'].includes(job.state)) return job;
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    throw new Error(`job ${jobId} did not end in 80 s; last answer: ${last}`);
  }
});
