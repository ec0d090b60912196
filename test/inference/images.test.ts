/** @jest-environment ./libs/ml/test/onnxruntime-environment.ts */
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { PREDICTION_ID_HEADER } from '@sepal/contracts';
import { uniqueNamespace, waitFor } from '@sepal/testing';
import { MODEL_PROMOTED_QUEUE } from '../../apps/inference/src';
import { AMQP_URL, deleteTestQueues, IRIS_RUN_ID, startTestGateway, TestRegistry } from './fixtures';
import {
  decodeJpegGrey,
  FASHION_LABELS,
  greyJpeg,
  greyPng,
  IMAGE,
  imageClassifierOnnx,
  ortProbabilities,
  syntheticImages,
} from './image-fixtures';

const MODEL = 'FashionCnn';
const SEED = Number(process.env['SEPAL_TEST_SEED'] ?? Date.now() % 2 ** 31);
const SIZE = IMAGE.height * IMAGE.width;

jest.setTimeout(60_000);

interface Answer {
  class_name?: string;
  predictionId?: string;
  model: { name: string; version: number };
  predictions: {
    class: string;
    classIndex: number;
    probabilities: Record<string, number>;
    predictionId: string;
  }[];
}

/** A multipart/form-data body of `files`, and its content type. */
function multipart(files: { field: string; filename: string; type: string; bytes: Uint8Array }[]) {
  const boundary = `----sepal${Math.random().toString(16).slice(2)}`;
  const chunks: Buffer[] = [];
  for (const file of files) {
    chunks.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="${file.field}"; filename="${file.filename}"\r\n` +
          `Content-Type: ${file.type}\r\n\r\n`,
      ),
      Buffer.from(file.bytes),
      Buffer.from('\r\n'),
    );
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { payload: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

/** A PNG that is only a header claiming `width` x `height` pixels: what a decompression bomb looks like first. */
function pngHeaderOnly(width: number, height: number): Buffer {
  const png = greyPng(new Uint8Array(4), 2, 2);
  png.writeUInt32BE(width, 16);
  png.writeUInt32BE(height, 20);
  return png;
}

/*
 * Image models end to end: a seeded untrained CNN exported to ONNX from TypeScript (uint8 NHWC input, the image
 * metadata and a drift reference) is published to the real registry and served; PNG and JPEG uploads (multipart and
 * base64 JSON) and OIP UINT8/FP32 tensors answer the same probabilities as onnxruntime run directly, with class_name;
 * wrong sizes, types, undecodable images and the limits answer 413/415/422 naming the problem.
 */
describe.each(['real services', 'embedded adapters'] as const)('image models on %s', (mode) => {
  const amqpUrl = mode === 'real services' ? AMQP_URL : undefined;
  let registry: TestRegistry;
  let gateway: NestFastifyApplication;
  let namespace: string;
  let onnx: Uint8Array;
  const pixels = syntheticImages(3, SEED);
  const first = pixels.subarray(0, SIZE);
  const second = pixels.subarray(SIZE, 2 * SIZE);
  let expected: Float32Array;

  const inject = (options: {
    url: string;
    method?: 'GET' | 'POST';
    payload?: unknown;
    headers?: Record<string, string>;
  }) =>
    gateway
      .getHttpAdapter()
      .getInstance()
      .inject({
        method: options.method ?? 'POST',
        url: options.url,
        payload: options.payload as string,
        headers: options.headers,
      });

  const upload = (files: Parameters<typeof multipart>[0], url = `/predict/${MODEL}`) => {
    const { payload, contentType } = multipart(files);
    return inject({ url, payload, headers: { 'content-type': contentType, 'x-sepal-client': '1' } });
  };

  const png = (bytes: Uint8Array, filename = 'item.png') => ({
    field: 'image',
    filename,
    type: 'image/png',
    bytes,
  });

  const expectClose = (answer: Answer['predictions'][number], reference: Float32Array, row: number) => {
    const k = FASHION_LABELS.length;
    FASHION_LABELS.forEach((label, c) =>
      expect(answer.probabilities[label]).toBeCloseTo(reference[row * k + c], 5),
    );
  };

  beforeAll(async () => {
    console.log(`images.test seed ${SEED} (SEPAL_TEST_SEED to replay)`);
    namespace = uniqueNamespace('images');
    onnx = await imageClassifierOnnx(MODEL, SEED);
    expected = await ortProbabilities(onnx, pixels);
    registry = await new TestRegistry().start({ amqpUrl, namespace });
    await registry.createRun(IRIS_RUN_ID);
    const version = await registry.register(MODEL, onnx, IRIS_RUN_ID);
    await registry.promote(MODEL, version.version);
    gateway = await startTestGateway(
      registry.url,
      { amqpUrl, namespace },
      {
        MODEL_NAME: MODEL,
        INFERENCE_REPLICA_ID: `images-${mode.replace(' ', '-')}`,
        IMAGE_MAX_PER_REQUEST: '4',
        IMAGE_MAX_BYTES: '20000',
        DRIFT_MIN_ROWS: '4',
      },
    );
    await waitFor(async () => (await inject({ method: 'GET', url: '/health/ready' })).statusCode === 200, {
      timeoutMs: 20_000,
      description: 'the gateway to load the CNN',
    });
  }, 60_000);

  afterAll(async () => {
    await gateway?.close();
    await registry?.stop();
    if (amqpUrl) await deleteTestQueues(namespace, [MODEL_PROMOTED_QUEUE]);
  });

  it('a multipart PNG answers class_name, probabilities and a prediction id, as onnxruntime does', async () => {
    const response = await upload([png(greyPng(first))]);
    expect(response.statusCode).toBe(200);
    const answer = response.json() as Answer;
    expect(answer.model.name).toBe(MODEL);
    expect(answer.predictions).toHaveLength(1);
    expectClose(answer.predictions[0], expected, 0);
    expect(answer.class_name).toBe(answer.predictions[0].class);
    expect(FASHION_LABELS).toContain(answer.class_name);
    expect(response.headers[PREDICTION_ID_HEADER.toLowerCase()]).toBe(answer.predictionId);

    const two = (await upload([png(greyPng(first)), png(greyPng(second), 'b.png')])).json() as Answer;
    expect(two.predictions).toHaveLength(2);
    expect(two.class_name).toBeUndefined();
    expectClose(two.predictions[1], expected, 1);
  });

  it('base64 JSON, one image or a batch, PNG or JPEG, on the lean path and on the default route', async () => {
    const one = await inject({ url: `/predict/${MODEL}`, payload: { image: b64(greyPng(first)) } });
    expect(one.statusCode).toBe(200);
    expect((one.json() as Answer).class_name).toBe(FASHION_LABELS[argmax(expected, 0)]);

    const jpegBytes = greyJpeg(second);
    const jpegExpected = await ortProbabilities(onnx, decodeJpegGrey(jpegBytes));
    const batch = await inject({
      url: '/predict',
      payload: { images: [b64(greyPng(first)), `data:image/jpeg;base64,${b64(jpegBytes)}`] },
    });
    expect(batch.statusCode).toBe(200);
    const answer = batch.json() as Answer;
    expectClose(answer.predictions[0], expected, 0);
    expectClose(answer.predictions[1], jpegExpected, 0);

    const jpegUpload = await upload([
      { field: 'f', filename: 'x.jpg', type: 'image/jpeg', bytes: jpegBytes },
    ]);
    expect(jpegUpload.statusCode).toBe(200);
    expect((jpegUpload.json() as Answer).class_name).toBe(FASHION_LABELS[argmax(jpegExpected, 0)]);
  });

  it('OIP takes a [N, 28, 28, 1] UINT8 or FP32 tensor and answers class_name', async () => {
    const meta = (await inject({ method: 'GET', url: `/v2/models/${MODEL}` })).json();
    expect(meta.inputs).toEqual([{ name: 'features', datatype: 'UINT8', shape: [-1, 28, 28, 1] }]);
    expect(meta.parameters).toMatchObject({ input_kind: 'image', image_shape: [28, 28, 1] });
    for (const datatype of ['UINT8', 'FP32']) {
      const response = await inject({
        url: `/v2/models/${MODEL}/infer`,
        payload: {
          inputs: [
            {
              name: 'features',
              datatype,
              shape: [2, 28, 28, 1],
              data: Array.from(pixels.subarray(0, 2 * SIZE)),
            },
          ],
        },
      });
      expect(response.statusCode).toBe(200);
      const outputs = (response.json() as { outputs: { name: string; data: unknown[] }[] }).outputs;
      const names = outputs.find((o) => o.name === 'class_name')!.data;
      expect(names).toEqual([FASHION_LABELS[argmax(expected, 0)], FASHION_LABELS[argmax(expected, 1)]]);
      const probabilities = outputs.find((o) => o.name === 'probabilities')!.data as number[];
      probabilities.slice(0, 10).forEach((p, c) => expect(p).toBeCloseTo(expected[c], 5));
    }
  });

  it('a wrong size, type or undecodable image is 415/422 naming the problem; limits are 413 naming them', async () => {
    const cases: [
      string,
      Promise<{ statusCode: number; json: () => { message?: string; error?: string } }>,
      number,
      RegExp,
    ][] = [
      [
        '32x32 PNG',
        upload([png(greyPng(new Uint8Array(32 * 32), 32, 32))]),
        422,
        /\[28, 28, 1\].*\[32, 32, 1\]/,
      ],
      [
        'not an image',
        upload([png(Buffer.from('hello, this is text'), 'notes.txt')]),
        415,
        /neither a PNG nor a JPEG/,
      ],
      [
        'corrupt PNG',
        inject({ url: `/predict/${MODEL}`, payload: { image: b64(corrupt(greyPng(first))) } }),
        422,
        /image: cannot be decoded/,
      ],
      ['bad base64', inject({ url: `/predict/${MODEL}`, payload: { image: 'not base64!' } }), 422, /base64/],
      [
        'header claiming 100000x100000',
        upload([png(pngHeaderOnly(100_000, 100_000), 'bomb.png')]),
        413,
        /IMAGE_MAX_PIXELS/,
      ],
      [
        'five images',
        inject({ url: `/predict/${MODEL}`, payload: { images: new Array(5).fill(b64(greyPng(first))) } }),
        413,
        /IMAGE_MAX_PER_REQUEST/,
      ],
      ['five files', upload(new Array(5).fill(png(greyPng(first)))), 413, /IMAGE_MAX_PER_REQUEST/],
      ['a big file', upload([png(Buffer.alloc(30_000, 1))]), 413, /IMAGE_MAX_BYTES/],
      [
        'a big base64 image',
        inject({ url: '/predict', payload: { image: b64(Buffer.alloc(30_000, 1)) } }),
        413,
        /IMAGE_MAX_BYTES/,
      ],
      [
        'table rows to an image model',
        inject({ url: '/predict', payload: { features: [1, 2, 3] } }),
        400,
        /features: unknown field for an image model/,
      ],
      [
        'OIP [1, 32, 32, 1]',
        inject({
          url: `/v2/models/${MODEL}/infer`,
          payload: {
            inputs: [
              { name: 'features', datatype: 'UINT8', shape: [1, 32, 32, 1], data: new Array(1024).fill(0) },
            ],
          },
        }),
        422,
        /\[N, 28, 28, 1\].*\[1,32,32,1\]/,
      ],
      [
        'OIP INT64',
        inject({
          url: `/v2/models/${MODEL}/infer`,
          payload: {
            inputs: [
              { name: 'features', datatype: 'INT64', shape: [1, 28, 28, 1], data: new Array(SIZE).fill(0) },
            ],
          },
        }),
        422,
        /UINT8 or FP32/,
      ],
      [
        'OIP pixel 300',
        inject({
          url: `/v2/models/${MODEL}/infer`,
          payload: {
            inputs: [
              {
                name: 'features',
                datatype: 'FP32',
                shape: [1, 28, 28, 1],
                data: [300, ...new Array(SIZE - 1).fill(0)],
              },
            ],
          },
        }),
        422,
        /from 0 to 255/,
      ],
      [
        'multipart to another route',
        upload([png(greyPng(first))], '/feedback'),
        415,
        /unsupported content type/,
      ],
    ];
    for (const [name, pending, status, message] of cases) {
      const response = await pending;
      const body = response.json();
      expect({ name, status: response.statusCode, message: body.message ?? body.error }).toEqual({
        name,
        status,
        message: expect.stringMatching(message),
      });
    }
  });

  it('image drift: mean intensity and predicted class against the reference, in sepal_feature_drift_psi', async () => {
    const dark = syntheticImages(4, SEED + 7, 0.2);
    const images = Array.from({ length: 4 }, (_, i) => b64(greyPng(dark.subarray(i * SIZE, (i + 1) * SIZE))));
    expect((await inject({ url: '/predict', payload: { images } })).statusCode).toBe(200);
    const metrics = (await inject({ method: 'GET', url: '/metrics' })).body;
    const psi = (feature: string) =>
      Number(
        new RegExp(
          `sepal_feature_drift_psi\\{[^}]*model="${MODEL}"[^}]*feature="${feature}"[^}]*\\} (\\S+)`,
        ).exec(metrics)?.[1],
      );
    // The dark images' mean intensity is far below every training image's: the PSI says so.
    expect(psi('mean_intensity')).toBeGreaterThan(1);
    expect(psi('predicted_class')).toBeGreaterThanOrEqual(0);
  });
});

function argmax(probabilities: Float32Array, row: number): number {
  const k = FASHION_LABELS.length;
  let best = 0;
  for (let c = 1; c < k; c++) if (probabilities[row * k + c] > probabilities[row * k + best]) best = c;
  return best;
}

/** The PNG with its pixel data (IDAT) damaged: the header is fine, the decoding fails. */
function corrupt(png: Buffer): Buffer {
  const copy = Buffer.from(png);
  const idat = copy.indexOf('IDAT');
  for (let i = idat + 4; i < Math.min(idat + 40, copy.length - 12); i++) copy[i] ^= 0x5a;
  return copy;
}
