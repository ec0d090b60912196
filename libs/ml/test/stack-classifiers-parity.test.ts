/** @jest-environment ./libs/ml/test/onnxruntime-environment.ts */
import { InferenceSession, Tensor } from 'onnxruntime-node';
import {
  createRng,
  exportDenseClassifierToOnnx,
  stackClassifiers,
  type DenseClassifierSpec,
  type HiddenActivation,
} from '@sepal/ml';
import { randomDenseClassifier, randomRows } from './fixtures/random-dense-classifier';
import {
  assertPythonOnnx,
  checkWithOnnx,
  itWithPythonOnnx,
  pythonOnnxAvailable,
} from './fixtures/python-onnx';

const FEATURES = 4;
const CLASSES = 3;
const ROWS = 300;
const TOLERANCE = 1e-5;

type Preprocessing = 'standardizer' | 'none' | 'medians';

/** `count` classifiers of one architecture with their own random weights and preprocessing values. */
function classifiers(seed: number, count: number, activations: HiddenActivation[], kind: Preprocessing) {
  const rng = createRng(seed);
  return Array.from({ length: count }, (): DenseClassifierSpec => {
    const hidden = activations.map((activation, i) => ({ units: 5 + i, activation }));
    const spec = randomDenseClassifier(rng, FEATURES, hidden, CLASSES);
    if (kind === 'standardizer') return spec;
    const columns = spec.featureNames.map((name) => ({ name, type: 'numeric' as const }));
    const medians = kind === 'medians' ? columns.map(() => 10 * rng() - 5) : undefined;
    return {
      ...spec,
      preprocessing: {
        columns,
        ...(medians ? { medians, standardizer: spec.standardizer } : {}),
        categories: [],
      },
    };
  });
}

interface Scores {
  probabilities: number[][];
  labels: number[];
}

async function run(
  bytes: Uint8Array,
  rows: number[][],
  modelIndex?: number[],
  options: InferenceSession.SessionOptions = {},
): Promise<Scores> {
  const session = await InferenceSession.create(bytes, options);
  try {
    const feeds: Record<string, Tensor> = {
      features: new Tensor('float32', Float32Array.from(rows.flat()), [rows.length, FEATURES]),
    };
    if (modelIndex) feeds.model = new Tensor('int64', BigInt64Array.from(modelIndex, BigInt), [rows.length]);
    const outputs = await session.run(feeds);
    const probabilities = Array.from(outputs.probabilities.data as Float32Array);
    expect(outputs.probabilities.dims).toEqual([rows.length, CLASSES]);
    return {
      probabilities: rows.map((_, i) => probabilities.slice(i * CLASSES, (i + 1) * CLASSES)),
      labels: Array.from(outputs.label.data as BigInt64Array, Number),
    };
  } finally {
    await session.release();
  }
}

/** What each row's own model answers, running every model on all rows and keeping its rows. */
async function ownAnswers(models: Uint8Array[], rows: number[][], modelIndex: number[]): Promise<Scores> {
  const perModel = await Promise.all(models.map((bytes) => run(bytes, rows)));
  return {
    probabilities: rows.map((_, i) => perModel[modelIndex[i]].probabilities[i]),
    labels: rows.map((_, i) => perModel[modelIndex[i]].labels[i]),
  };
}

/** Rows in [-10, 10]; with `missing`, about 20% of the cells are NaN (the Imputer's medians fill them). */
function rowsFor(seed: number, count: number, missing: boolean): number[][] {
  const rng = createRng(seed);
  const rows = randomRows(rng, count, FEATURES, -10, 10);
  return missing ? rows.map((row) => row.map((value) => (rng() < 0.2 ? NaN : value))) : rows;
}

function expectSameScores(actual: Scores, expected: Scores): void {
  const differences = expected.probabilities.flatMap((row, i) =>
    row.map((p, k) => Math.abs(p - actual.probabilities[i][k])),
  );
  expect(differences).toHaveLength(expected.labels.length * CLASSES);
  if (differences.length > 0) expect(Math.max(...differences)).toBeLessThan(TOLERANCE);
  expect(actual.probabilities.flat().every(Number.isFinite)).toBe(true);
  expect(actual.labels).toEqual(expected.labels);
}

const cases: [string, number, HiddenActivation[], Preprocessing][] = [
  ['4 models, relu then tanh, standardised', 4, ['relu', 'tanh'], 'standardizer'],
  ['3 models, tanh, no standardizer', 3, ['tanh'], 'none'],
  ['5 models, relu, medians imputing NaN cells', 5, ['relu', 'relu'], 'medians'],
];

describe('stacked classifiers against each row’s own model (onnxruntime-node)', () => {
  it.each(cases)(
    '%s: probabilities within 1e-5 and identical labels',
    async (_, count, activations, kind) => {
      const models = classifiers(count, count, activations, kind).map((spec) =>
        exportDenseClassifierToOnnx(spec, { model_name: `m${count}` }),
      );
      const rows = rowsFor(count, ROWS, kind === 'medians');
      const rng = createRng(100 + count);
      const modelIndex = rows.map(() => Math.floor(rng() * count));
      expect(new Set(modelIndex).size).toBe(count);
      if (kind === 'medians') expect(rows.flat().some(Number.isNaN)).toBe(true);

      const expected = await ownAnswers(models, rows, modelIndex);
      expectSameScores(await run(stackClassifiers(models), rows, modelIndex), expected);
      // Guards against models so alike that a wrong gather would still match.
      const swapped = modelIndex.map((k) => (k + 1) % count);
      const mismatched = (await run(stackClassifiers(models), rows, swapped)).labels.filter(
        (label, i) => label !== expected.labels[i],
      );
      expect(mismatched.length).toBeGreaterThan(0);
    },
  );

  it('scores a single row and an empty batch', async () => {
    const models = classifiers(7, 3, ['relu', 'tanh'], 'standardizer').map((spec) =>
      exportDenseClassifierToOnnx(spec, {}),
    );
    const stacked = stackClassifiers(models);
    const [row] = rowsFor(8, 1, false);
    for (const k of [0, 1, 2]) {
      expectSameScores(await run(stacked, [row], [k]), await ownAnswers(models, [row], [k]));
    }
    expect(await run(stacked, [], [])).toEqual({ probabilities: [], labels: [] });
  });

  it('rejects a model index past the last model', async () => {
    const models = classifiers(9, 2, ['relu'], 'none').map((spec) => exportDenseClassifierToOnnx(spec, {}));
    // Fatal-only logging: onnxruntime would also print the expected error.
    await expect(
      run(stackClassifiers(models), rowsFor(10, 2, false), [0, 2], { logSeverityLevel: 4 }),
    ).rejects.toThrow(/indices element out of data bounds/);
  });
});

describe('stacked classifiers against the reference checker (python3-onnx)', () => {
  const available = pythonOnnxAvailable();
  const itWithOnnx = itWithPythonOnnx(available);

  itWithOnnx('pass onnx.checker.check_model(full_check=True) with its inputs and outputs', () => {
    assertPythonOnnx(available);
    const stacked = cases.map(([, count, activations, kind]) =>
      stackClassifiers(
        classifiers(count, count, activations, kind).map((spec) => exportDenseClassifierToOnnx(spec, {})),
      ),
    );
    const checked = checkWithOnnx(stacked, {
      inputs: '[i.name for i in model.graph.input]',
      outputs: '[o.name for o in model.graph.output]',
      opset: '[[o.domain, o.version] for o in model.opset_import]',
    });
    expect(checked).toEqual(
      cases.map(() => ({
        inputs: ['features', 'model'],
        outputs: ['probabilities', 'label'],
        opset: [['', 17]],
      })),
    );
  });
});
