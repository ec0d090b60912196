/** @jest-environment ./libs/ml/test/onnxruntime-environment.ts */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { Enum, parse, Type, type Namespace, type ReflectionObject, type Root } from 'protobufjs';
import { argmax, createRng, exportDenseClassifierToOnnx, predictProba, readOnnxMetadata } from '@sepal/ml';
import { ONNX_PROTO_SOURCE } from '../src/onnx/onnx-proto';
import type { HiddenLayerShape } from './fixtures/random-dense-classifier';
import { randomDenseClassifier, randomRows } from './fixtures/random-dense-classifier';
import { assertPythonOnnx, itWithPythonOnnx, pythonOnnxAvailable, runPython } from './fixtures/python-onnx';

const FEATURES = 4;
const CLASSES = 3;
const ROWS = 200;
const TOLERANCE = 1e-5;

const metadata = {
  model_name: 'iris-classifier',
  label_map: JSON.stringify({ 0: 'Iris-setosa', 1: 'Iris-versicolor', 2: 'Iris-virginica' }),
  feature_names: JSON.stringify(['sepal_length', 'sepal_width', 'petal_length', 'petal_width']),
  dataset_version: 'f'.repeat(64),
  run_id: '3c1e6a8e-0d43-4a4b-9d0c-2f6f8d1e7b21',
};

const architectures: [string, HiddenLayerShape[]][] = [
  [
    'relu then tanh',
    [
      { units: 8, activation: 'relu' },
      { units: 5, activation: 'tanh' },
    ],
  ],
  [
    'sigmoid then linear',
    [
      { units: 6, activation: 'sigmoid' },
      { units: 4, activation: 'linear' },
    ],
  ],
];

async function runOnnx(
  bytes: Uint8Array,
  rows: number[][],
): Promise<{ probabilities: number[][]; labels: number[] }> {
  const session = await InferenceSession.create(bytes);
  try {
    const features = new Tensor('float32', Float32Array.from(rows.flat()), [rows.length, FEATURES]);
    const outputs = await session.run({ features });
    const probabilities = Array.from(outputs.probabilities.data as Float32Array);
    return {
      probabilities: rows.map((_, i) => probabilities.slice(i * CLASSES, (i + 1) * CLASSES)),
      labels: Array.from(outputs.label.data as BigInt64Array, Number),
    };
  } finally {
    await session.release();
  }
}

describe('ONNX export parity with the reference forward pass (onnxruntime-node)', () => {
  it.each(architectures)(
    '%s: probabilities within 1e-5 and identical labels on 200 rows',
    async (_, hidden) => {
      const rng = createRng(20240601);
      const spec = randomDenseClassifier(rng, FEATURES, hidden, CLASSES);
      // Around the standardiser's means, and wide enough to push some units into saturation.
      const rows = randomRows(rng, ROWS, FEATURES, -10, 10);
      const expected = predictProba(spec, rows);
      const actual = await runOnnx(exportDenseClassifierToOnnx(spec, metadata), rows);

      const differences = expected.flatMap((row, i) =>
        row.map((p, k) => Math.abs(p - actual.probabilities[i][k])),
      );
      expect(differences).toHaveLength(ROWS * CLASSES);
      expect(Math.max(...differences)).toBeLessThan(TOLERANCE);
      expect(actual.labels).toEqual(expected.map((row) => argmax(row)));
      // Guards against a degenerate spec where every row lands in the same class.
      expect(new Set(actual.labels).size).toBeGreaterThan(1);
    },
  );

  it('declares the inputs and outputs onnxruntime reports, and keeps the metadata', async () => {
    const spec = randomDenseClassifier(createRng(5), FEATURES, architectures[0][1], CLASSES);
    const bytes = exportDenseClassifierToOnnx(spec, metadata);
    const session = await InferenceSession.create(bytes);
    try {
      expect(session.inputNames).toEqual(['features']);
      expect(session.outputNames).toEqual(['probabilities', 'label']);
      expect(session.inputMetadata).toEqual([
        { name: 'features', isTensor: true, type: 'float32', shape: ['N', 4] },
      ]);
      expect(session.outputMetadata).toEqual([
        { name: 'probabilities', isTensor: true, type: 'float32', shape: ['N', 3] },
        { name: 'label', isTensor: true, type: 'int64', shape: ['N'] },
      ]);
    } finally {
      await session.release();
    }
    // onnxruntime-node does not expose custom metadata; the Python check below reads it independently.
    expect(readOnnxMetadata(bytes)).toEqual(metadata);
  });
});

describe('ONNX export against the reference implementation (python3-onnx)', () => {
  const available = pythonOnnxAvailable();
  const itWithOnnx = itWithPythonOnnx(available);

  itWithOnnx(
    'passes onnx.checker.check_model(full_check=True) and reads back the same header and metadata',
    () => {
      assertPythonOnnx(available);
      const spec = randomDenseClassifier(createRng(11), FEATURES, architectures[0][1], CLASSES);
      const directory = mkdtempSync(join(tmpdir(), 'sepal-onnx-'));
      try {
        const file = join(directory, 'model.onnx');
        writeFileSync(file, exportDenseClassifierToOnnx(spec, metadata));
        const output = runPython(
          [
            'import json, onnx, sys',
            'model = onnx.load(sys.argv[1])',
            'onnx.checker.check_model(model, full_check=True)',
            'print(json.dumps({',
            '  "ir_version": model.ir_version,',
            '  "opset": [[o.domain, o.version] for o in model.opset_import],',
            '  "producer_name": model.producer_name,',
            '  "metadata": {p.key: p.value for p in model.metadata_props},',
            '}))',
          ].join('\n'),
          [file],
        );
        expect(JSON.parse(output)).toEqual({
          ir_version: 8,
          opset: [['', 17]],
          producer_name: 'sepal',
          metadata,
        });
      } finally {
        rmSync(directory, { recursive: true, force: true });
      }
    },
  );

  itWithOnnx('embedded schema uses the field numbers, types and labels of the official onnx.proto', () => {
    assertPythonOnnx(available);
    const officialPath = runPython(
      'import onnx, os; print(os.path.join(os.path.dirname(onnx.__file__), "onnx.proto"))',
    ).trim();
    const official = parse(readFileSync(officialPath, 'utf8'), { keepCase: true }).root;
    official.resolveAll();
    const embedded = parse(ONNX_PROTO_SOURCE, { keepCase: true }).root;
    embedded.resolveAll();

    const compared = compareNamespace(embedded.lookup('onnx') as Namespace, official);
    expect(compared.mismatches).toEqual([]);
    expect(compared.fields).toBeGreaterThan(60);
  });
});

/** Every field and enum value of `ours` must exist in `official` with the same number, type and label. */
function compareNamespace(ours: Namespace, official: Root): { mismatches: string[]; fields: number } {
  const mismatches: string[] = [];
  let fields = 0;
  const visit = (object: ReflectionObject): void => {
    const theirs = official.lookup(object.fullName);
    if (theirs === null) {
      mismatches.push(`${object.fullName} is not in onnx.proto`);
      return;
    }
    if (object instanceof Type) {
      for (const field of object.fieldsArray) {
        fields++;
        const match = (theirs as Type).fields[field.name];
        const describe = (f: typeof field) =>
          `${f.id} ${f.repeated ? 'repeated ' : ''}${f.type}${f.packed ? ' packed' : ''}`;
        if (match === undefined) mismatches.push(`${object.fullName}.${field.name} is not in onnx.proto`);
        else if (describe(field) !== describe(match)) {
          mismatches.push(
            `${object.fullName}.${field.name}: ours ${describe(field)}, official ${describe(match)}`,
          );
        }
      }
    }
    if (object instanceof Enum) {
      for (const [name, value] of Object.entries(object.values)) {
        if ((theirs as Enum).values[name] !== value)
          mismatches.push(`${object.fullName}.${name} = ${value} differs`);
      }
    }
    if ('nestedArray' in object) (object as Namespace).nestedArray.forEach(visit);
  };
  ours.nestedArray.forEach(visit);
  return { mismatches, fields };
}
