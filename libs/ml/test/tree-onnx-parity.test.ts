/** @jest-environment ./libs/ml/test/onnxruntime-environment.ts */
import { InferenceSession, Tensor } from 'onnxruntime-node';
import {
  argmax,
  createRng,
  exportTreeEnsembleToOnnx,
  predictTreeProbabilities,
  predictTreeValues,
  readOnnxMetadata,
  trainGradientBoosting,
  trainRandomForest,
  type TreeEnsembleModel,
} from '@sepal/ml';
import {
  assertPythonOnnx,
  checkWithOnnx,
  itWithPythonOnnx,
  pythonOnnxAvailable,
} from './fixtures/python-onnx';
import { noisyClasses, type Dataset } from './fixtures/tree-data';

const TOLERANCE = 1e-5;
const FEATURES = 3;

const metadata = {
  model_name: 'wine-quality',
  label_map: JSON.stringify({ 0: 'low', 1: 'medium', 2: 'high' }),
  feature_names: JSON.stringify(['alcohol', 'acidity', 'sugar']),
  dataset_version: 'e'.repeat(64),
  run_id: '9b2f0c4e-5d3a-4f7e-8a1b-6c2d9e0f1a2b',
};

function smoothRegression(rng: () => number, count: number): Dataset {
  const x = Array.from({ length: count }, () => [10 * rng(), 10 * rng(), 10 * rng()]);
  return { x, y: x.map((row) => 5 + Math.sin(row[0]) * 3 + 0.4 * row[1] + rng()) };
}

const classes = noisyClasses(createRng(1), 400);
/** Four classes of unequal sizes (one rare), for the class weights and one boosted tree per class and round. */
const fourClasses = {
  x: classes.x,
  y: classes.x.map((row, i) => (row[0] > 8.5 ? 3 : classes.y[i])),
};

/** Classifiers beyond the first four, checked like them (seeds 7 and 8). */
const moreClassifiers: [string, () => TreeEnsembleModel][] = [
  [
    'random forest, 4 classes, balanced class weights, minSamplesLeaf 3',
    () =>
      trainRandomForest(
        fourClasses.x,
        fourClasses.y,
        { task: 'classification', trees: 30, classWeight: 'balanced', minSamplesLeaf: 3 },
        7,
      ),
  ],
  [
    'gradient boosting, 4 classes, one tree per class and round, rounds fixed as a refit trains (no early stopping), l2 3',
    () =>
      trainGradientBoosting(
        fourClasses.x,
        fourClasses.y,
        { task: 'classification', rounds: 25, earlyStoppingRounds: 0, l2: 3, minSamplesLeaf: 5 },
        8,
      ),
  ],
];
const binary = { x: classes.x, y: classes.y.map((label) => (label === 2 ? 1 : 0)) };
const regression = smoothRegression(createRng(2), 400);

const models: [string, () => TreeEnsembleModel][] = [
  [
    'random forest, 3 classes',
    () => trainRandomForest(classes.x, classes.y, { task: 'classification', trees: 40 }, 1),
  ],
  [
    'random forest, 2 classes',
    () => trainRandomForest(binary.x, binary.y, { task: 'classification', trees: 25 }, 2),
  ],
  [
    'gradient boosting, 3 classes',
    () =>
      trainGradientBoosting(
        classes.x,
        classes.y,
        { task: 'classification', rounds: 60, minSamplesLeaf: 5 },
        3,
      ),
  ],
  [
    'gradient boosting, 2 classes',
    () => trainGradientBoosting(binary.x, binary.y, { task: 'classification', rounds: 40 }, 4),
  ],
  [
    'random forest, regression',
    () => trainRandomForest(regression.x, regression.y, { task: 'regression', trees: 30 }, 5),
  ],
  [
    'gradient boosting, regression',
    () => trainGradientBoosting(regression.x, regression.y, { task: 'regression', rounds: 80 }, 6),
  ],
];

/**
 * 200 random rows, values beyond the training range, and rows sitting exactly on split thresholds, where a
 * float32/float64 or <=/< mismatch would send a row the other way.
 */
function probeRows(model: TreeEnsembleModel): number[][] {
  const rng = createRng(99);
  const rows = Array.from({ length: 200 }, () => Array.from({ length: FEATURES }, () => -1 + 12 * rng()));
  for (const tree of model.trees.slice(0, 10)) {
    tree.feature.forEach((feature, node) => {
      if (feature < 0) return;
      const row = Array.from({ length: FEATURES }, () => 10 * rng());
      row[feature] = tree.threshold[node];
      rows.push(row);
    });
  }
  return rows;
}

async function runOnnx(bytes: Uint8Array, rows: number[][]) {
  const session = await InferenceSession.create(bytes);
  try {
    const features = new Tensor('float32', Float32Array.from(rows.flat()), [rows.length, FEATURES]);
    const outputs = await session.run({ features });
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

describe('tree ensemble ONNX export parity with the TypeScript model (onnxruntime-node)', () => {
  it.each([...models.slice(0, 4), ...moreClassifiers])(
    '%s: probabilities within 1e-5 and identical labels',
    async (_, train) => {
      const model = train();
      const rows = probeRows(model);
      const expected = predictTreeProbabilities(model, rows);
      const actual = await runOnnx(exportTreeEnsembleToOnnx(model, metadata), rows);
      const k = model.classCount;
      const differences = expected.flatMap((row, i) =>
        row.map((p, c) => Math.abs(p - actual.probabilities[i * k + c])),
      );
      expect(differences).toHaveLength(rows.length * k);
      expect(Math.max(...differences)).toBeLessThan(TOLERANCE);
      expect(actual.label).toEqual(expected.map((row) => argmax(row)));
      expect(new Set(actual.label).size).toBe(k);
    },
  );

  it.each(models.slice(4))('%s: values within 1e-5 relative', async (_, train) => {
    const model = train();
    const rows = probeRows(model);
    const expected = predictTreeValues(model, rows);
    const actual = await runOnnx(exportTreeEnsembleToOnnx(model, metadata), rows);
    expect(actual.value).toHaveLength(rows.length);
    const relative = expected.map((value, i) => Math.abs(value - actual.value[i]) / Math.abs(value));
    expect(Math.max(...relative)).toBeLessThan(TOLERANCE);
    expect(new Set(actual.value).size).toBeGreaterThan(10);
  });

  it('declares the dense classifier’s input and outputs, and a regressor’s value output', async () => {
    const check = async (model: TreeEnsembleModel, outputs: unknown[]) => {
      const session = await InferenceSession.create(exportTreeEnsembleToOnnx(model, metadata));
      try {
        expect(session.inputMetadata).toEqual([
          { name: 'features', isTensor: true, type: 'float32', shape: ['N', 3] },
        ]);
        expect(session.outputMetadata).toEqual(outputs);
      } finally {
        await session.release();
      }
    };
    await check(models[0][1](), [
      { name: 'probabilities', isTensor: true, type: 'float32', shape: ['N', 3] },
      { name: 'label', isTensor: true, type: 'int64', shape: ['N'] },
    ]);
    await check(models[5][1](), [{ name: 'value', isTensor: true, type: 'float32', shape: ['N', 1] }]);
  });
});

describe('tree ensemble ONNX export against the reference checker (python3-onnx)', () => {
  const available = pythonOnnxAvailable();
  const itWithOnnx = itWithPythonOnnx(available);

  itWithOnnx('passes onnx.checker.check_model(full_check=True) with its opsets and metadata', () => {
    assertPythonOnnx(available);
    const exported = [models[0], models[3], models[4], models[5]].map(([, train]) => {
      const bytes = exportTreeEnsembleToOnnx(train(), metadata);
      expect(readOnnxMetadata(bytes)).toEqual(metadata);
      return bytes;
    });
    const checked = checkWithOnnx(exported, {
      opset: 'sorted([o.domain, o.version] for o in model.opset_import)',
      ops: '[n.op_type for n in model.graph.node]',
      outputs: '[o.name for o in model.graph.output]',
      metadata: '{p.key: p.value for p in model.metadata_props}',
    });
    const opset = [
      ['', 17],
      ['ai.onnx.ml', 3],
    ];
    const classifier = ['Cast', 'TreeEnsembleClassifier', 'ArgMax'];
    const regressor = ['Cast', 'TreeEnsembleRegressor'];
    expect(checked).toEqual([
      { opset, ops: classifier, outputs: ['probabilities', 'label'], metadata },
      { opset, ops: classifier, outputs: ['probabilities', 'label'], metadata },
      { opset, ops: regressor, outputs: ['value'], metadata },
      { opset, ops: regressor, outputs: ['value'], metadata },
    ]);
  });
});
