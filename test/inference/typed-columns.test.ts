/** @jest-environment ./libs/ml/test/onnxruntime-environment.ts */
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { encodeOnnxMetadata, type FeatureCell } from '@sepal/contracts';
import {
  argmax,
  createRng,
  encodedWidth,
  exportDenseClassifierToOnnx,
  exportDenseRegressorToOnnx,
  fitFeaturePreprocessing,
  predictProba,
  predictValues,
  type DenseClassifierSpec,
  type DenseRegressorSpec,
  type FeatureColumn,
  type FeaturePreprocessing,
} from '@sepal/ml';
import { uniqueNamespace, waitFor } from '@sepal/testing';
import { MODEL_PROMOTED_QUEUE } from '../../apps/inference/src';
import { AMQP_URL, deleteTestQueues, IRIS_RUN_ID, startTestGateway, TestRegistry } from './fixtures';

const REGRESSOR = 'WineValue';
const CLASSIFIER = 'WineColour';
const COLUMNS: FeatureColumn[] = [
  { name: 'alcohol', type: 'numeric' },
  { name: 'grape', type: 'categorical' },
  { name: 'acidity', type: 'numeric' },
];
const FEATURES = COLUMNS.map((c) => c.name);
const LABELS = ['red', 'white'];

jest.setTimeout(60_000);

/** Training rows with missing cells: what the preprocessing is fitted on. */
function trainingRows(): FeatureCell[][] {
  const rng = createRng(4);
  const grapes = ['merlot', 'riesling', 'syrah'];
  return Array.from({ length: 200 }, () => [
    rng() < 0.1 ? null : 9 + 5 * rng(),
    rng() < 0.1 ? null : grapes[Math.floor(rng() * 3)],
    rng() < 0.1 ? null : 3 + 4 * rng(),
  ]);
}

/** One linear layer over the encoded row, with weights that make every encoded column matter. */
function linearLayer(preprocessing: FeaturePreprocessing, units: number, activation: 'linear' | 'softmax') {
  const inputs = encodedWidth(preprocessing);
  const rng = createRng(units);
  return {
    kernel: Float32Array.from({ length: inputs * units }, () => rng() * 2 - 1),
    bias: Float32Array.from({ length: units }, () => (units === 1 ? 5.5 : rng() - 0.5)),
    inputs,
    units,
    activation,
  };
}

function models(): { regressor: DenseRegressorSpec; classifier: DenseClassifierSpec } {
  const preprocessing = fitFeaturePreprocessing(COLUMNS, trainingRows(), { standardize: true });
  return {
    regressor: {
      task: 'regression',
      featureNames: FEATURES,
      preprocessing,
      layers: [linearLayer(preprocessing, 1, 'linear')],
    },
    classifier: {
      featureNames: FEATURES,
      labels: LABELS,
      standardizer: { mean: [0, 0], std: [1, 1] },
      preprocessing,
      layers: [linearLayer(preprocessing, 2, 'softmax')],
    },
  };
}

function metadata(modelName: string, preprocessing: FeaturePreprocessing, regression: boolean) {
  let numeric = 0;
  let categorical = 0;
  return encodeOnnxMetadata({
    modelName,
    labels: regression ? [] : LABELS,
    featureNames: FEATURES,
    runId: IRIS_RUN_ID,
    ...(regression ? { task: 'regression' as const } : {}),
    featureColumns: preprocessing.columns.map(({ name, type }) =>
      type === 'categorical'
        ? { name, type, categories: preprocessing.categories[categorical++], missing: true }
        : { name, type, imputed: preprocessing.medians![numeric++], missing: true },
    ),
  });
}

/** Raw rows as clients send them: strings, null, a grape never seen in training. */
const RAW: FeatureCell[][] = [
  [12.5, 'merlot', 5.1],
  [null, 'riesling', 4],
  [10, null, null],
  [11, 'pinot noir', 6.2],
];

describe.each(['real services', 'embedded adapters'] as const)(
  'typed columns and regression on %s',
  (mode) => {
    const amqpUrl = mode === 'real services' ? AMQP_URL : undefined;
    const specs = models();
    let registry: TestRegistry;
    let namespace: string;
    let regressorGateway: NestFastifyApplication;
    let classifierGateway: NestFastifyApplication;

    const http = (app: NestFastifyApplication, method: 'GET' | 'POST', url: string, payload?: unknown) =>
      app
        .getHttpAdapter()
        .getInstance()
        .inject({ method, url, payload: payload as string, headers: { 'x-sepal-client': '1' } });

    beforeAll(async () => {
      namespace = uniqueNamespace('typed');
      registry = await new TestRegistry().start({ amqpUrl, namespace });
      await registry.createRun(IRIS_RUN_ID);
      const { regressor, classifier } = specs;
      const published = [
        [
          REGRESSOR,
          exportDenseRegressorToOnnx(regressor, metadata(REGRESSOR, regressor.preprocessing, true)),
        ],
        [
          CLASSIFIER,
          exportDenseClassifierToOnnx(classifier, metadata(CLASSIFIER, classifier.preprocessing!, false)),
        ],
      ] as const;
      for (const [name, bytes] of published) {
        const version = await registry.register(name, bytes, IRIS_RUN_ID);
        await registry.promote(name, version.version);
      }
      regressorGateway = await startTestGateway(
        registry.url,
        { amqpUrl, namespace },
        { MODEL_NAME: REGRESSOR, INFERENCE_REPLICA_ID: 'typed-regressor' },
      );
      classifierGateway = await startTestGateway(
        registry.url,
        { amqpUrl, namespace },
        { MODEL_NAME: CLASSIFIER, INFERENCE_REPLICA_ID: 'typed-classifier' },
      );
      for (const app of [regressorGateway, classifierGateway]) {
        await waitFor(async () => (await http(app, 'GET', '/health/ready')).statusCode === 200, {
          timeoutMs: 20_000,
          description: 'the gateway to load its champion',
        });
      }
    }, 60_000);

    afterAll(async () => {
      await regressorGateway?.close();
      await classifierGateway?.close();
      await registry?.stop();
      if (amqpUrl) await deleteTestQueues(namespace, [MODEL_PROMOTED_QUEUE]);
    });

    it('a regressor answers {"value": x} per row from raw strings, nulls and an unseen category', async () => {
      const response = await http(regressorGateway, 'POST', '/predict', { instances: RAW });
      expect(response.statusCode).toBe(200);
      const { predictions } = response.json() as { predictions: { value: number }[] };
      const expected = predictValues(specs.regressor, RAW);
      expect(predictions).toHaveLength(RAW.length);
      predictions.forEach(({ value }, i) =>
        expect(Math.abs(value - expected[i]) / Math.max(1, Math.abs(expected[i]))).toBeLessThan(1e-5),
      );

      const named = await http(regressorGateway, 'POST', '/predict', {
        features: { alcohol: 12.5, grape: 'merlot', acidity: 5.1 },
      });
      expect((named.json() as { predictions: { value: number }[] }).predictions[0].value).toBeCloseTo(
        predictions[0].value,
        5,
      );
      // A nullable feature may be left out of a named row: it is missing.
      const partial = await http(regressorGateway, 'POST', '/predict', { features: { alcohol: 10 } });
      expect((partial.json() as { predictions: { value: number }[] }).predictions[0].value).toBeCloseTo(
        predictions[2].value,
        5,
      );
    });

    it('the OIP endpoint takes the categorical BYTES tensor and returns the value tensor', async () => {
      const meta = (await http(regressorGateway, 'GET', `/v2/models/${REGRESSOR}`)).json();
      expect(meta).toMatchObject({
        inputs: [
          { name: 'features', datatype: 'FP32', shape: [-1, 2] },
          { name: 'categorical', datatype: 'BYTES', shape: [-1, 1] },
        ],
        outputs: [{ name: 'value', datatype: 'FP32', shape: [-1, 1] }],
      });
      const infer = await http(regressorGateway, 'POST', `/v2/models/${REGRESSOR}/infer`, {
        inputs: [
          { name: 'features', datatype: 'FP32', shape: [4, 2], data: RAW.map((row) => [row[0], row[2]]) },
          { name: 'categorical', datatype: 'BYTES', shape: [4, 1], data: RAW.map((row) => [row[1]]) },
        ],
      });
      expect(infer.statusCode).toBe(200);
      const [value] = infer.json().outputs;
      expect(value).toMatchObject({ name: 'value', datatype: 'FP32', shape: [4, 1] });
      const rest = (await http(regressorGateway, 'POST', '/predict', { instances: RAW })).json() as {
        predictions: { value: number }[];
      };
      expect(value.data).toEqual(rest.predictions.map((p) => p.value));
    });

    it('a classifier with a categorical column answers from raw strings and nulls', async () => {
      const response = await http(classifierGateway, 'POST', '/predict', { instances: RAW });
      expect(response.statusCode).toBe(200);
      const { predictions } = response.json() as {
        predictions: { class: string; probabilities: Record<string, number> }[];
      };
      const expected = predictProba(specs.classifier, RAW);
      predictions.forEach((prediction, i) => {
        expect(prediction.class).toBe(LABELS[argmax(expected[i])]);
        LABELS.forEach((label, k) => expect(prediction.probabilities[label]).toBeCloseTo(expected[i][k], 5));
      });
    });

    it('refuses a bad cell with 400 naming the feature, never a 500', async () => {
      const cases: [unknown, RegExp][] = [
        [
          { features: [12, 7, 'x'] },
          /features\[2\] \(acidity\): must be a finite number \(got a string "x"\)/,
        ],
        [{ features: [12, { a: 1 }, 3] }, /features\[1\] \(grape\): must be a category \(a string\) or null/],
        [{ features: [12, 'x'.repeat(1001), 3] }, /longer than 1000 characters \(MAX_CATEGORY_LENGTH\)/],
        [{ features: { alcohol: 1, colour: 'red' } }, /unknown feature\(s\) colour/],
      ];
      for (const [body, message] of cases) {
        const response = await http(regressorGateway, 'POST', '/predict', body);
        expect(response.statusCode).toBe(400);
        expect((response.json() as { message: string }).message).toMatch(message);
      }
    });
  },
);
