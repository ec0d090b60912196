/**
 * Image datasets end to end in the data app (real PostgreSQL and RabbitMQ, and the embedded adapters): a zip of class folders (PNG and JPEG made here
 * with pngjs and jpeg-js), versions by content hash with delta storage, a stratified split that rows keep, the
 * binary pages for the trainer, samples and PNGs for the console, per-file errors and limits that leave nothing
 * behind, and IDX pairs (a zip of them, and the first 200 Fashion-MNIST images when the Debian files exist).
 * Needs `npm run build` first (the import worker runs from dist).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { encode as encodeJpeg } from 'jpeg-js';
import { PNG } from 'pngjs';
import { DataSource } from 'typeorm';
import { decodeImageBatch, DatasetVersionView, ImageImportResponse } from '@sepal/contracts';
import { encodeIdx, writeZip } from '@sepal/ml';
import { DATA_TEST_MODES, DataTestApp, startDataTestApp } from './support/data-test-app';

const FASHION_MNIST = '/usr/share/datasets/fashion-mnist';

/** A w×h PNG of one colour with a diagonal line whose place depends on `i` (so every image differs). */
function png(w: number, h: number, rgb: [number, number, number], i: number): Uint8Array {
  const image = new PNG({ width: w, height: h });
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const at = (y * w + x) * 4;
      const line = (x + y + i) % w === 0;
      image.data[at] = line ? 255 - rgb[0] : rgb[0];
      image.data[at + 1] = line ? 255 - rgb[1] : rgb[1];
      image.data[at + 2] = line ? 255 - rgb[2] : rgb[2];
      image.data[at + 3] = 255;
    }
  }
  return new Uint8Array(PNG.sync.write(image));
}

/** jpeg-js encodes slowly (~0.1 s a picture): each test picture is made once. */
const jpegs = new Map<string, Uint8Array>();

function jpeg(w: number, h: number, rgb: [number, number, number], i: number): Uint8Array {
  const key = `${w}x${h}:${rgb.join(',')}:${i}`;
  const made = jpegs.get(key);
  if (made) return made;
  const data = Buffer.alloc(w * h * 4);
  for (let p = 0; p < w * h; p++) {
    const bright = p % (i + 2) === 0 ? 60 : 0;
    data[p * 4] = Math.min(255, rgb[0] + bright);
    data[p * 4 + 1] = Math.min(255, rgb[1] + bright);
    data[p * 4 + 2] = Math.min(255, rgb[2] + bright);
    data[p * 4 + 3] = 255;
  }
  const encoded = new Uint8Array(encodeJpeg({ width: w, height: h, data }, 90).data);
  jpegs.set(key, encoded);
  return encoded;
}

const CLASSES: Record<string, [number, number, number]> = {
  cat: [200, 30, 30],
  dog: [30, 200, 30],
  owl: [30, 30, 200],
};

/** Images per class (PNG, and JPEG among the first ten; of different sizes) under one top folder, and a README. */
function shapesFiles(perClass = 10): { name: string; data: Uint8Array }[] {
  const files: { name: string; data: Uint8Array }[] = [
    { name: 'shapes/README.txt', data: new TextEncoder().encode('three classes') },
  ];
  for (const [name, rgb] of Object.entries(CLASSES)) {
    for (let i = 0; i < perClass; i++) {
      files.push(
        i % 3 === 0 && i < 10
          ? { name: `shapes/${name}/${i}.jpg`, data: jpeg(9, 7, rgb, i) }
          : { name: `shapes/${name}/${i}.png`, data: png(8 + (i % 2), 8, rgb, i) },
      );
    }
  }
  return files;
}

describe.each(DATA_TEST_MODES)('image datasets on %s', (mode) => {
  let data: DataTestApp;
  let app: NestFastifyApplication;

  const post = (url: string, zip?: Uint8Array) =>
    app.inject({
      method: 'POST',
      url,
      payload: zip ? Buffer.from(zip) : undefined,
      headers: { 'x-sepal-client': '1', ...(zip ? { 'content-type': 'application/zip' } : {}) },
    });
  const get = (url: string) => app.inject({ method: 'GET', url });
  const versions = async (dataset: string) => {
    const response = await get(`/datasets/${dataset}/versions`);
    return response.statusCode === 200 ? (response.json() as DatasetVersionView[]) : [];
  };
  const stored = async (table: 'rows' | 'images', dataset: string) => {
    const [{ n }] = await app
      .get(DataSource)
      .query(`SELECT count(*)::int AS n FROM data.${table} WHERE dataset = $1`, [dataset]);
    return n as number;
  };
  /** Every image of a version's split: hash (by pixels) → label index. */
  const pages = async (dataset: string, ref: string, split: string) => {
    const out: { pixels: Uint8Array; label: number }[] = [];
    let cursor = -1;
    for (;;) {
      const response = await get(
        `/datasets/${dataset}/versions/${ref}/images?split=${split}&limit=7&cursor=${cursor}`,
      );
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toContain('application/vnd.sepal.image-batch');
      const batch = decodeImageBatch(new Uint8Array(response.rawPayload));
      const size = batch.header.height * batch.header.width * batch.header.channels;
      for (let i = 0; i < batch.header.count; i++) {
        out.push({ pixels: batch.pixels.subarray(i * size, (i + 1) * size), label: batch.labels[i] });
      }
      if (batch.header.nextCursor === null) return { images: out, header: batch.header };
      cursor = batch.header.nextCursor;
    }
  };

  beforeAll(async () => {
    data = await startDataTestApp(mode, 'images', {
      DATA_MAX_IMAGE_FILES: '250',
      DATA_MAX_IMAGE_FILE_BYTES: '20000',
      DATA_MAX_IMAGE_PIXELS: '10000',
    });
    app = data.app;
  }, 60_000);

  afterAll(async () => {
    await data?.close();
  });

  it('imports a zip of class folders as a version keyed by content, with a stratified split rows keep', async () => {
    const zip = writeZip(shapesFiles());
    const first = await post('/datasets/shapes/images/import?height=6&width=6&channels=3', zip);
    expect(first.statusCode).toBe(201);
    const imported = first.json() as ImageImportResponse;
    expect(imported.images).toEqual({ read: 30, ignored: ['shapes/README.txt'] });
    const v1 = imported.version;
    expect(v1.schema).toMatchObject({
      features: ['image'],
      task: 'classification',
      labels: ['cat', 'dog', 'owl'],
      image: { height: 6, width: 6, channels: 3, resize: 'stretch' },
    });
    // Stratified: round(10 × 0.2) = 2 test images of each class.
    expect(v1.classCounts).toEqual({ train: { cat: 8, dog: 8, owl: 8 }, test: { cat: 2, dog: 2, owl: 2 } });

    // The same content is the same version.
    const again = await post('/datasets/shapes/images/import?height=6&width=6&channels=3', zip);
    expect(again.statusCode).toBe(200);
    expect((again.json() as ImageImportResponse).version.id).toBe(v1.id);

    // One more cat: a child version that writes only that row, and every earlier image keeps its split.
    const more = shapesFiles();
    more.push({ name: 'shapes/cat/extra.png', data: png(8, 8, [90, 90, 90], 3) });
    const second = await post('/datasets/shapes/images/import', writeZip(more));
    expect(second.statusCode).toBe(201);
    const v2 = (second.json() as ImageImportResponse).version;
    expect(v2.parentId).toBe(v1.id);
    expect((second.json() as ImageImportResponse).rowsWritten).toBe(1);
    expect(v2.rowCount).toBe(31);
    const key = (p: Uint8Array) => Buffer.from(p).toString('hex');
    for (const split of ['train', 'test']) {
      const before = (await pages('shapes', 'v1', split)).images.map((i) => key(i.pixels));
      const after = new Set((await pages('shapes', 'v2', split)).images.map((i) => key(i.pixels)));
      expect(before.every((k) => after.has(k))).toBe(true);
    }
    const train = await pages('shapes', 'v2', 'train');
    expect(train.header).toMatchObject({ height: 6, width: 6, channels: 3, labels: ['cat', 'dog', 'owl'] });
    expect(train.images).toHaveLength(v2.trainRows);
    expect(train.images.filter((i) => i.label === 0)).toHaveLength(v2.classCounts.train.cat);
    // A red cat stays red after decoding and resizing (the PNGs' background is (200, 30, 30)).
    const red = train.images.find((i) => i.label === 0)!.pixels;
    expect(red[0]).toBeGreaterThan(red[1]);

    // A changed shape is refused unless asked for.
    const reshaped = await post('/datasets/shapes/images/import?height=5&width=5&channels=3', zip);
    expect(reshaped.statusCode).toBe(422);
    expect(reshaped.json().message).toContain('6x6x3 stretch');
  }, 30_000);

  it('serves samples per class and each image as a PNG of the declared shape', async () => {
    const samples = await get('/datasets/shapes/versions/latest/samples?perClass=2');
    expect(samples.statusCode).toBe(200);
    const body = samples.json();
    expect(body.classes.map((c: { name: string; images: unknown[] }) => [c.name, c.images.length])).toEqual([
      ['cat', 2],
      ['dog', 2],
      ['owl', 2],
    ]);
    const picture = await get(`/datasets/shapes/images/${body.classes[1].images[0].hash}`);
    expect(picture.statusCode).toBe(200);
    expect(picture.headers['content-type']).toBe('image/png');
    const decoded = PNG.sync.read(picture.rawPayload);
    expect([decoded.width, decoded.height]).toEqual([6, 6]);
    expect((await get(`/datasets/shapes/images/${'0'.repeat(64)}`)).statusCode).toBe(404);
  });

  it('refuses an archive with a file that does not decode, naming it, and leaves nothing behind', async () => {
    const files = shapesFiles(3);
    files.push({ name: 'shapes/dog/broken.png', data: png(8, 8, [1, 2, 3], 1).subarray(0, 40) });
    files.push({ name: 'shapes/owl/notes.jpg', data: new TextEncoder().encode('not a picture') });
    const response = await post('/datasets/broken/images/import', writeZip(files));
    expect(response.statusCode).toBe(422);
    const message = response.json().message as string;
    expect(message).toContain('2 image file(s) could not be read');
    expect(message).toContain('shapes/dog/broken.png cannot be decoded as PNG');
    expect(message).toContain('shapes/owl/notes.jpg is neither a PNG nor a JPEG');
    expect(await versions('broken')).toEqual([]);
    expect(await stored('rows', 'broken')).toBe(0);
    expect(await stored('images', 'broken')).toBe(0);
    // The same refusal on a dataset with versions leaves its versions as they were.
    const before = (await versions('shapes')).length;
    expect((await post('/datasets/shapes/images/import', writeZip(files))).statusCode).toBe(422);
    expect((await versions('shapes')).length).toBe(before);
  });

  it.each([
    ['DATA_MAX_IMAGE_FILES', () => shapesFiles(84)],
    [
      'DATA_MAX_IMAGE_FILE_BYTES',
      () => {
        // Incompressible pixels (SHA-256 of their index), so the PNG is over 20,000 bytes.
        const noise = new PNG({ width: 90, height: 90 });
        for (let i = 0; i < noise.data.length; i++)
          noise.data[i] = createHash('sha256').update(String(i)).digest()[0];
        return [
          ...shapesFiles(2),
          { name: 'shapes/cat/big.png', data: new Uint8Array(PNG.sync.write(noise)) },
        ];
      },
    ],
    [
      'DATA_MAX_IMAGE_PIXELS',
      () => [...shapesFiles(2), { name: 'shapes/cat/wide.png', data: png(200, 60, [9, 9, 9], 0) }],
    ],
  ])('refuses an import over %s with 413 naming it, writing nothing', async (setting, files) => {
    const response = await post('/datasets/limited/images/import', writeZip(files()));
    expect(response.statusCode).toBe(413);
    expect(response.json().message).toContain(setting);
    expect(await versions('limited')).toEqual([]);
    expect(await stored('images', 'limited')).toBe(0);
  });

  it('imports IDX pairs from a zip (grey 4x4, labels as class names), split by hash', async () => {
    const n = 20;
    const pixels = new Uint8Array(n * 16).map((_, i) => (i * 37) % 256);
    const labels = new Uint8Array(n).map((_, i) => i % 2);
    const zip = writeZip([
      { name: 'digits-images-idx3-ubyte', data: encodeIdx({ dims: [n, 4, 4], values: pixels }) },
      { name: 'digits-labels-idx1-ubyte', data: encodeIdx({ dims: [n], values: labels }) },
    ]);
    const response = await post('/datasets/digits/images/import', zip);
    expect(response.statusCode).toBe(201);
    const version = (response.json() as ImageImportResponse).version;
    expect(version.schema.labels).toEqual(['0', '1']);
    expect(version.schema.image).toEqual({ height: 4, width: 4, channels: 1, resize: 'stretch' });
    expect(version.testRows).toBe(4);
    const all = await pages('digits', 'latest', 'train');
    expect(all.images).toHaveLength(16);
    // The pixels are the file's own (no resize: the declared shape is the files').
    const first = Buffer.from(pixels.subarray(0, 16)).toString('hex');
    const kept = [...all.images, ...(await pages('digits', 'latest', 'test')).images];
    expect(kept.some((i) => Buffer.from(i.pixels).toString('hex') === first)).toBe(true);
  });

  it('imports the first 200 Fashion-MNIST images with their declared train/t10k split (when installed)', async () => {
    if (!existsSync(FASHION_MNIST)) {
      console.warn(`skipped: ${FASHION_MNIST} is missing (apt-get install dataset-fashion-mnist)`);
      return;
    }
    const csv = await post('/datasets/fashion-mnist/import');
    expect(csv.statusCode).toBe(400);
    expect(csv.json().message).toContain('POST /datasets/fashion-mnist/images/import');
    const response = await post('/datasets/fashion-mnist/images/import?limit=200');
    expect(response.statusCode).toBe(201);
    const version = (response.json() as ImageImportResponse).version;
    expect(version.schema.image).toEqual({ height: 28, width: 28, channels: 1, resize: 'exact' });
    expect(version.schema.labels[9]).toBe('Ankle boot');
    expect(version.splitPolicy.method).toBe('declared-by-source');
    // 60,000 : 10,000 in proportion: 172 train and 28 test images, each from its own file.
    expect([version.trainRows, version.testRows]).toEqual([172, 28]);
    const test = await pages('fashion-mnist', 'latest', 'test');
    expect(test.images).toHaveLength(28);
  }, 30_000);
});
