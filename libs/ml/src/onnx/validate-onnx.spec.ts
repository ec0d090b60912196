import { randomDenseClassifier } from '../../test/fixtures/random-dense-classifier';
import { forestOf, stump } from '../../test/fixtures/tree-data';
import { exportDenseClassifierToOnnx } from './export-dense-classifier';
import { exportTreeEnsembleToOnnx } from './export-tree-ensemble';
import { modelProtoType } from './onnx-proto';
import { DEFAULT_ONNX_POLICY, OnnxValidationError, validateOnnxModel } from './validate-onnx';

/** A dense network as the trainer exports it (weights from a fixed seed: only its structure matters here). */
const dense = () => {
  let state = 7;
  const rng = () => ((state = (state * 16807) % 2147483647) - 1) / 2147483646;
  return exportDenseClassifierToOnnx(
    randomDenseClassifier(rng, 3, [{ units: 4, activation: 'relu' }], 2),
    {},
  );
};

type Plain = Record<string, unknown>;
const tensor = (name: string, extra: Plain = {}): Plain => ({
  name,
  dims: [1],
  data_type: 1,
  raw_data: new Uint8Array(4),
  ...extra,
});
const node = (extra: Plain = {}): Plain => ({
  name: 'n',
  op_type: 'Identity',
  input: ['x'],
  output: ['y'],
  ...extra,
});

/** A hand-built model: one Identity node in the standard domain unless `changes` say otherwise. */
function model(changes: { graph?: Plain; model?: Plain } = {}): Uint8Array {
  const ModelProto = modelProtoType();
  return ModelProto.encode(
    ModelProto.fromObject({
      ir_version: 8,
      opset_import: [{ domain: '', version: 17 }],
      graph: { name: 'g', node: [node()], ...changes.graph },
      ...changes.model,
    }),
  ).finish();
}

const refusal = (bytes: Uint8Array, policy = DEFAULT_ONNX_POLICY): string => {
  try {
    validateOnnxModel(bytes, policy);
  } catch (error) {
    expect(error).toBeInstanceOf(OnnxValidationError);
    return (error as Error).message;
  }
  throw new Error('the model was accepted');
};

describe('validateOnnxModel', () => {
  it("accepts what Sepal's exporters write: a dense network and a tree ensemble (ai.onnx.ml)", () => {
    expect(validateOnnxModel(dense())).toMatchObject({ irVersion: 8, opsets: [{ domain: '', version: 17 }] });
    const forest = forestOf([stump([1, 0], [0, 1], { feature: 0, threshold: 0.5 })], { classCount: 2 });
    const trees = validateOnnxModel(exportTreeEnsembleToOnnx(forest, { label_map: '["x","y"]' }));
    expect(trees.opsets.map((opset) => opset.domain)).toContain('ai.onnx.ml');
    expect(trees.nodes).toBeGreaterThan(0);
  });

  it('refuses bytes that are not an ONNX model: empty, garbage, text, a model without graph or nodes', () => {
    expect(refusal(new Uint8Array(0))).toBe('the file is empty: an ONNX model is expected');
    expect(refusal(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x0f))).toMatch(
      /^not an ONNX model: the file does not decode/,
    );
    expect(refusal(dense().subarray(0, 200))).toMatch(/^not an ONNX model/);
    expect(refusal(new TextEncoder().encode('{"not": "onnx"}'))).toMatch(/^not an ONNX model/);
    expect(refusal(model({ model: { graph: null } }))).toBe('not an ONNX model: it has no graph');
    expect(refusal(model({ graph: { node: [] } }))).toBe('the graph has no node: there is nothing to run');
  });

  it('refuses a file over the size limit, naming it', () => {
    expect(refusal(dense(), { ...DEFAULT_ONNX_POLICY, maxBytes: 100 })).toMatch(
      /^the file has \d+ bytes, more than the 100 allowed \(REGISTRY_MAX_ARTIFACT_BYTES\)$/,
    );
  });

  it('refuses a foreign operator domain, imported or only used, and unknown names that look like built-ins', () => {
    expect(
      refusal(
        model({
          model: {
            opset_import: [
              { domain: '', version: 17 },
              { domain: 'com.microsoft', version: 1 },
            ],
          },
        }),
      ),
    ).toBe(
      `the model imports operator domain "com.microsoft", which is not allowed (allowed: '' (ai.onnx), "ai.onnx", "ai.onnx.ml")`,
    );
    expect(refusal(model({ graph: { node: [node({ domain: 'com.evil', op_type: 'Spawn' })] } }))).toBe(
      `graph: node "n" (Spawn) uses operator domain "com.evil", which is not allowed (allowed: '' (ai.onnx), "ai.onnx", "ai.onnx.ml")`,
    );
    expect(refusal(model({ graph: { node: [node({ domain: 'ai.onnx.ml', op_type: 'Scaler' })] } }))).toBe(
      `graph: node "n" (Scaler) uses domain "ai.onnx.ml", which the model does not import`,
    );
    for (const domain of ['toString', '__proto__', 'constructor']) {
      expect(refusal(model({ model: { opset_import: [{ domain, version: 1 }] } }))).toMatch(/is not allowed/);
    }
  });

  it('refuses opsets and IR versions outside the allowed ranges', () => {
    expect(refusal(model({ model: { opset_import: [{ domain: '', version: 99 }] } }))).toBe(
      `the model imports opset 99 of domain '' (ai.onnx); allowed: 1 to 21`,
    );
    expect(refusal(model({ model: { opset_import: [] } }))).toBe(
      'the model imports no operator set (opset_import)',
    );
    expect(refusal(model({ model: { ir_version: 42 } }))).toBe(
      'ir_version 42 is not accepted (allowed: 3 to 10)',
    );
  });

  it('refuses tensors kept outside the file, wherever they are: initializers, attributes, subgraphs, sparse', () => {
    expect(refusal(model({ graph: { initializer: [tensor('w', { data_location: 1 })] } }))).toBe(
      'graph: initializer: tensor "w" keeps its data in an external file; every tensor must be stored inside the model',
    );
    const external = tensor('secret', { external_data: [{ key: 'location', value: '/etc/passwd' }] });
    expect(refusal(model({ graph: { initializer: [external] } }))).toMatch(/tensor "secret" keeps its data/);
    const constant = node({
      op_type: 'Constant',
      input: [],
      attribute: [{ name: 'value', type: 4, t: external }],
    });
    expect(refusal(model({ graph: { node: [constant] } }))).toMatch(
      /^graph: node "n" \(Constant\) attribute "value": tensor "secret" keeps its data/,
    );
    const branch = { name: 'then', node: [node()], initializer: [external] };
    const ifNode = node({ op_type: 'If', attribute: [{ name: 'then_branch', type: 5, g: branch }] });
    expect(refusal(model({ graph: { node: [ifNode] } }))).toMatch(
      /^graph: node "n" \(If\) attribute "then_branch": initializer: tensor "secret"/,
    );
    expect(
      refusal(model({ graph: { sparse_initializer: [{ values: external, indices: tensor('i') }] } })),
    ).toMatch(/sparse initializer: tensor "secret" keeps its data/);
  });

  it('refuses too many nodes, too deep subgraphs and local functions', () => {
    const nodes = Array.from({ length: 11 }, (_, i) => node({ name: `n${i}` }));
    expect(refusal(model({ graph: { node: nodes } }), { ...DEFAULT_ONNX_POLICY, maxNodes: 10 })).toBe(
      'the model has more than 10 nodes (the most allowed)',
    );
    let graph: Plain = { name: 'leaf', node: [node()] };
    for (let depth = 0; depth < 3; depth++) {
      graph = {
        name: `g${depth}`,
        node: [node({ op_type: 'If', attribute: [{ name: 'then_branch', type: 5, g: graph }] })],
      };
    }
    expect(refusal(model({ graph }), { ...DEFAULT_ONNX_POLICY, maxGraphDepth: 2 })).toMatch(
      /subgraphs nest deeper than 2 levels/,
    );
    expect(validateOnnxModel(model({ graph }), { ...DEFAULT_ONNX_POLICY, maxGraphDepth: 3 }).nodes).toBe(4);
    expect(refusal(model({ model: { functions: [{ name: 'f', domain: 'local' }] } }))).toBe(
      `the model defines local functions ("f" in domain "local"); they are not accepted`,
    );
  });
});
