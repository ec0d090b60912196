/** @jest-environment ./libs/ml/test/onnxruntime-environment.ts */
import { InferenceSession, Tensor } from 'onnxruntime-node';
import {
  argmax,
  columnsByType,
  createRng,
  encodedWidth,
  encodeFeatureRows,
  exportDenseClassifierToOnnx,
  exportDenseRegressorToOnnx,
  exportTreeEnsembleToOnnx,
  featureTensorValues,
  fitFeaturePreprocessing,
  predictProba,
  predictTreeProbabilities,
  predictTreeValues,
  predictValues,
  trainGradientBoosting,
  trainRandomForest,
  type DenseClassifierSpec,
  type DenseRegressorSpec,
  type FeatureCell,
  type FeatureColumn,
  type FeaturePreprocessing,
} from '@sepal/ml';
import { randomDenseClassifier } from './fixtures/random-dense-classifier';
import {
  assertPythonOnnx,
  checkWithOnnx,
  itWithPythonOnnx,
  pythonOnnxAvailable,
} from './fixtures/python-onnx';

const TOLERANCE = 1e-5;
const COLUMNS: FeatureColumn[] = [
  { name: 'alcohol', type: 'numeric' },
  { name: 'colour', type: 'categorical' },
  { name: 'acidity', type: 'numeric' },
  { name: 'region', type: 'categorical' },
  { name: 'sugar', type: 'numeric' },
];
const COLOURS = ['red', 'white', 'rosé'];
const REGIONS = ['north', 'south', 'east', 'west', 'centre'];
const metadata = { model_name: 'mixed', feature_names: JSON.stringify(COLUMNS.map((c) => c.name)) };

/** Rows with about 15% missing cells in every column; `unseen` adds categories training never saw. */
function mixedRows(rng: () => number, count: number, unseen = false): FeatureCell[][] {
  const pick = <T>(values: T[]) => values[Math.floor(rng() * values.length)];
  const missing = () => rng() < 0.15;
  return Array.from({ length: count }, () => [
    missing() ? null : 8 + 6 * rng(),
    missing() ? null : unseen && rng() < 0.3 ? 'orange' : pick(COLOURS),
    missing() ? null : 2 + 10 * rng(),
    missing() ? null : unseen && rng() < 0.3 ? 'abroad' : pick(REGIONS),
    missing() ? null : 40 * rng(),
  ]);
}

/** A target that depends on numeric and categorical cells, so trees split on both. */
function target(row: FeatureCell[]): number {
  const numeric = (cell: FeatureCell) => (typeof cell === 'number' ? cell : 0);
  return (
    numeric(row[0]) * 0.4 + (row[1] === 'red' ? 2 : 0) - numeric(row[2]) * 0.1 + (row[3] === 'south' ? 1 : 0)
  );
}

async function runOnnx(bytes: Uint8Array, preprocessing: FeaturePreprocessing, rows: FeatureCell[][]) {
  const session = await InferenceSession.create(bytes);
  try {
    const { numeric, categorical } = columnsByType(preprocessing.columns);
    const values = featureTensorValues(preprocessing.columns, rows);
    const feeds: Record<string, Tensor> = {
      features: new Tensor('float32', Float32Array.from(values.numeric), [rows.length, numeric.length]),
    };
    if (categorical.length > 0) {
      feeds.categorical = new Tensor('string', values.categorical, [rows.length, categorical.length]);
    }
    const outputs = await session.run(feeds);
    return Object.fromEntries(
      Object.entries(outputs).map(([name, tensor]) => [
        name,
        Array.from(tensor.data as ArrayLike<number | bigint>, Number),
      ]),
    );
  } finally {
    await session.release();
  }
}

const train = mixedRows(createRng(1), 400);
const probe = [...mixedRows(createRng(2), 150), ...mixedRows(createRng(3), 100, true)];
const scaled = fitFeaturePreprocessing(COLUMNS, train, { standardize: true });
const raw = fitFeaturePreprocessing(COLUMNS, train, { standardize: false });

function denseClassifier(): DenseClassifierSpec {
  const base = randomDenseClassifier(
    createRng(7),
    encodedWidth(scaled),
    [{ units: 8, activation: 'tanh' }],
    3,
  );
  return { ...base, featureNames: COLUMNS.map((c) => c.name), preprocessing: scaled };
}

function denseRegressor(): DenseRegressorSpec {
  const base = randomDenseClassifier(
    createRng(8),
    encodedWidth(scaled),
    [{ units: 6, activation: 'relu' }],
    2,
  );
  const hidden = base.layers[0];
  const output = base.layers[1];
  return {
    task: 'regression',
    featureNames: COLUMNS.map((c) => c.name),
    preprocessing: scaled,
    layers: [
      hidden,
      {
        ...output,
        units: 1,
        activation: 'linear',
        kernel: output.kernel.filter((_, i) => i % 2 === 0),
        bias: Float32Array.of(5.5),
      },
    ],
  };
}

const encodedTrain = encodeFeatureRows(raw, train);
const values = train.map(target);
const classes = values.map((value) => (value < 5.5 ? 0 : value < 7 ? 1 : 2));

describe('fitted preprocessing', () => {
  it('imputes with training medians, one-hots the training categories and leaves unseen ones at zero', () => {
    expect(raw.categories).toEqual([[...COLOURS].sort(), [...REGIONS].sort()]);
    expect(raw.medians).toHaveLength(3);
    expect(encodedWidth(raw)).toBe(3 + 3 + 5);
    const [encoded] = encodeFeatureRows(raw, [[null, 'orange', 3, 'south', null]]);
    expect(encoded.slice(0, 3)).toEqual([raw.medians![0], 3, raw.medians![2]]);
    expect(encoded.slice(3, 6)).toEqual([0, 0, 0]);
    expect(encoded.slice(6)).toEqual([0, 0, 0, 1, 0]);
  });
});

describe('ONNX preprocessing parity with the TypeScript reference (onnxruntime-node)', () => {
  it('dense classifier: probabilities within 1e-5 and the same labels from raw strings and nulls', async () => {
    const spec = denseClassifier();
    const expected = predictProba(spec, probe);
    const actual = await runOnnx(exportDenseClassifierToOnnx(spec, metadata), scaled, probe);
    const differences = expected.flatMap((row, i) =>
      row.map((p, k) => Math.abs(p - actual.probabilities[i * 3 + k])),
    );
    expect(differences).toHaveLength(probe.length * 3);
    expect(Math.max(...differences)).toBeLessThan(TOLERANCE);
    expect(actual.label).toEqual(expected.map((row) => argmax(row)));
    expect(new Set(actual.label).size).toBeGreaterThan(1);
  });

  it('dense regressor: values within 1e-5 relative', async () => {
    const spec = denseRegressor();
    const expected = predictValues(spec, probe);
    const actual = await runOnnx(exportDenseRegressorToOnnx(spec, metadata), scaled, probe);
    expect(actual.value).toHaveLength(probe.length);
    const relative = expected.map(
      (value, i) => Math.abs(value - actual.value[i]) / Math.max(1, Math.abs(value)),
    );
    expect(Math.max(...relative)).toBeLessThan(TOLERANCE);
    expect(new Set(actual.value).size).toBeGreaterThan(10);
  });

  it('random forest classifier on the encoded columns: probabilities within 1e-5, same labels', async () => {
    const model = trainRandomForest(encodedTrain, classes, { task: 'classification', trees: 30 }, 1);
    const expected = predictTreeProbabilities(model, encodeFeatureRows(raw, probe));
    const actual = await runOnnx(exportTreeEnsembleToOnnx(model, metadata, raw), raw, probe);
    const differences = expected.flatMap((row, i) =>
      row.map((p, k) => Math.abs(p - actual.probabilities[i * 3 + k])),
    );
    expect(Math.max(...differences)).toBeLessThan(TOLERANCE);
    expect(actual.label).toEqual(expected.map((row) => argmax(row)));
  });

  it('gradient boosting regressor on the encoded columns: values within 1e-5 relative', async () => {
    const model = trainGradientBoosting(encodedTrain, values, { task: 'regression', rounds: 40 }, 2);
    const expected = predictTreeValues(model, encodeFeatureRows(raw, probe));
    const actual = await runOnnx(exportTreeEnsembleToOnnx(model, metadata, raw), raw, probe);
    const relative = expected.map(
      (value, i) => Math.abs(value - actual.value[i]) / Math.max(1, Math.abs(value)),
    );
    expect(Math.max(...relative)).toBeLessThan(TOLERANCE);
    // The categorical columns matter to the model: flipping a colour changes some predictions.
    const flipped = probe.map((row) => [row[0], row[1] === 'red' ? 'white' : 'red', ...row.slice(2)]);
    const other = await runOnnx(exportTreeEnsembleToOnnx(model, metadata, raw), raw, flipped);
    expect(other.value.some((value, i) => Math.abs(value - actual.value[i]) > 0.1)).toBe(true);
  });

  it('random forest regressor on the encoded columns: values within 1e-5 relative, from raw strings and nulls', async () => {
    const model = trainRandomForest(
      encodedTrain,
      values,
      { task: 'regression', trees: 30, featureFraction: 1 },
      3,
    );
    const expected = predictTreeValues(model, encodeFeatureRows(raw, probe));
    const bytes = exportTreeEnsembleToOnnx(model, metadata, raw);
    const actual = await runOnnx(bytes, raw, probe);
    expect(actual.value).toHaveLength(probe.length);
    const relative = expected.map(
      (value, i) => Math.abs(value - actual.value[i]) / Math.max(1, Math.abs(value)),
    );
    expect(Math.max(...relative)).toBeLessThan(TOLERANCE);
    expect(new Set(actual.value).size).toBeGreaterThan(10);
    // A missing size is imputed with the training median: the same value as sending the median itself.
    const median = raw.medians![0];
    const imputed = await runOnnx(bytes, raw, [
      [null, 'red', 5, 'south', 10],
      [median, 'red', 5, 'south', 10],
    ]);
    expect(imputed.value[0]).toBe(imputed.value[1]);
    // The colour matters to the model: red against white changes the value.
    const colours = await runOnnx(bytes, raw, [
      [10, 'red', 5, 'south', 10],
      [10, 'white', 5, 'south', 10],
    ]);
    expect(Math.abs(colours.value[0] - colours.value[1])).toBeGreaterThan(0.5);
  });

  it('declares "features" float32 and "categorical" string inputs, and "value" [N, 1] for a regressor', async () => {
    const session = await InferenceSession.create(exportDenseRegressorToOnnx(denseRegressor(), metadata));
    try {
      expect(session.inputMetadata).toEqual([
        { name: 'features', isTensor: true, type: 'float32', shape: ['N', 3] },
        { name: 'categorical', isTensor: true, type: 'string', shape: ['N', 2] },
      ]);
      expect(session.outputMetadata).toEqual([
        { name: 'value', isTensor: true, type: 'float32', shape: ['N', 1] },
      ]);
    } finally {
      await session.release();
    }
  });
});

describe('ONNX preprocessing graphs against the reference checker (python3-onnx)', () => {
  const available = pythonOnnxAvailable();
  const itWithOnnx = itWithPythonOnnx(available);

  itWithOnnx('pass onnx.checker.check_model(full_check=True) with the ai.onnx.ml operators', () => {
    assertPythonOnnx(available);
    const models = [
      exportDenseClassifierToOnnx(denseClassifier(), metadata),
      exportDenseRegressorToOnnx(denseRegressor(), metadata),
      exportTreeEnsembleToOnnx(
        trainRandomForest(encodedTrain, classes, { task: 'classification', trees: 5 }, 1),
        metadata,
        raw,
      ),
      exportTreeEnsembleToOnnx(
        trainGradientBoosting(encodedTrain, values, { task: 'regression', rounds: 5 }, 2),
        metadata,
        raw,
      ),
      exportTreeEnsembleToOnnx(
        trainRandomForest(encodedTrain, values, { task: 'regression', trees: 5 }, 3),
        metadata,
        raw,
      ),
    ];
    const checked = checkWithOnnx(models, {
      inputs: '[i.name for i in model.graph.input]',
      ops: 'sorted(set(n.op_type for n in model.graph.node))',
      outputs: '[o.name for o in model.graph.output]',
    });
    const inputs = ['features', 'categorical'];
    const front = ['Concat', 'Gather', 'Imputer', 'OneHotEncoder'];
    expect(checked).toEqual([
      {
        inputs,
        ops: [...front, 'ArgMax', 'Div', 'Gemm', 'Softmax', 'Sub', 'Tanh'].sort(),
        outputs: ['probabilities', 'label'],
      },
      { inputs, ops: [...front, 'Div', 'Gemm', 'Relu', 'Sub'].sort(), outputs: ['value'] },
      {
        inputs,
        ops: [...front, 'ArgMax', 'Cast', 'TreeEnsembleClassifier'].sort(),
        outputs: ['probabilities', 'label'],
      },
      { inputs, ops: [...front, 'Cast', 'TreeEnsembleRegressor'].sort(), outputs: ['value'] },
      { inputs, ops: [...front, 'Cast', 'TreeEnsembleRegressor'].sort(), outputs: ['value'] },
    ]);
  });
});
