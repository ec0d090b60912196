import { encodeOnnxMetadata, OnnxMetadataError, OnnxMetadataKeys, parseOnnxMetadata } from './onnx-metadata';

const RUN_ID = '3c1e6a8e-0d43-4a4b-9d0c-2f6f8d1e7b21';
const reference = [
  { edges: [1, 2], proportions: [0.25, 0.5, 0.25] },
  { edges: [0], proportions: [0.5, 0.5] },
];

/** Metadata as the trainer writes it. */
const good: Record<string, string> = {
  model_name: 'IrisModel',
  label_map: JSON.stringify(['setosa', 'versicolor']),
  feature_names: JSON.stringify(['petal_length', 'petal_width']),
  dataset: 'iris',
  dataset_version: 'd'.repeat(64),
  run_id: RUN_ID,
  feature_reference: JSON.stringify(reference),
};

function refusal(raw: Record<string, string>): OnnxMetadataError {
  try {
    parseOnnxMetadata(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(OnnxMetadataError);
    return error as OnnxMetadataError;
  }
  throw new Error('expected the metadata to be refused');
}

describe('ONNX metadata contract', () => {
  it('decodes the metadata the trainer writes', () => {
    expect(parseOnnxMetadata(good)).toEqual({
      image: null,
      imageReference: null,
      modelName: 'IrisModel',
      labels: ['setosa', 'versicolor'],
      featureNames: ['petal_length', 'petal_width'],
      dataset: 'iris',
      datasetVersion: 'd'.repeat(64),
      runId: RUN_ID,
      featureReference: reference,
      task: 'classification',
      featureColumns: null,
    });
  });

  it('takes only the required keys, ignores unknown ones and reads a label map numbered by object keys', () => {
    expect(
      parseOnnxMetadata({
        label_map: JSON.stringify({ 1: 'b', 0: 'a' }),
        feature_names: '["x"]',
        producer_note: 'anything',
      }),
    ).toEqual({
      image: null,
      imageReference: null,
      modelName: null,
      labels: ['a', 'b'],
      featureNames: ['x'],
      dataset: null,
      datasetVersion: null,
      runId: null,
      featureReference: null,
      task: 'classification',
      featureColumns: null,
    });
  });

  it.each([OnnxMetadataKeys.featureNames, OnnxMetadataKeys.labels])('refuses metadata without %s', (key) => {
    const raw = { ...good };
    delete raw[key];
    const error = refusal(raw);
    expect(error.key).toBe(key);
    expect(error.message).toBe(`the ONNX metadata has no '${key}'`);
  });

  it.each([
    ['label_map', '{"0":"a","2":"b"}', "the ONNX metadata 'label_map': must number the classes 0..k-1"],
    [
      'label_map',
      '{"x":"a"}',
      "the ONNX metadata 'label_map': bad class index 'x' (classes are numbered 0..k-1)",
    ],
    ['label_map', '["a","a"]', "the ONNX metadata 'label_map': class names must be unique"],
    ['feature_names', 'petal_length', "the ONNX metadata 'feature_names': is not JSON"],
    ['feature_names', '[]', "the ONNX metadata 'feature_names': must name at least one feature"],
    [
      'feature_names',
      '["a", 3]',
      "the ONNX metadata 'feature_names' [1]: Invalid input: expected string, received number",
    ],
    ['run_id', 'run-1', "the ONNX metadata 'run_id': must be a registry run id (a UUID)"],
    [
      'dataset_version',
      'v1',
      "the ONNX metadata 'dataset_version': must be a lowercase hex SHA-256 (64 characters)",
    ],
    [
      'feature_reference',
      JSON.stringify(reference.slice(1)),
      "the ONNX metadata 'feature_reference': has 1 references for 2 features (one per feature, in feature order)",
    ],
    [
      'feature_reference',
      JSON.stringify([reference[0], { edges: [2, 1], proportions: [0.3, 0.3, 0.4] }]),
      "the ONNX metadata 'feature_reference' [1].edges: must be strictly increasing",
    ],
    [
      'feature_reference',
      JSON.stringify([reference[0], { edges: [1], proportions: [0.5, 0.6] }]),
      "the ONNX metadata 'feature_reference' [1].proportions: must sum to 1",
    ],
    [
      'feature_reference',
      JSON.stringify([reference[0], { edges: [1], proportions: [1] }]),
      "the ONNX metadata 'feature_reference' [1].proportions: needs one proportion per bin (edges + 1)",
    ],
  ])('refuses a malformed %s (%s)', (key, value, message) => {
    const error = refusal({ ...good, [key]: value });
    expect(error.key).toBe(key);
    expect(error.message).toBe(message);
  });

  it('encodes what it decodes, and refuses to encode metadata the gateway would refuse', () => {
    const decoded = parseOnnxMetadata(good);
    expect(encodeOnnxMetadata(decoded)).toEqual(good);
    expect(encodeOnnxMetadata({ labels: ['a'], featureNames: ['x'] })).toEqual({
      label_map: '["a"]',
      feature_names: '["x"]',
    });
    expect(() => encodeOnnxMetadata({ ...decoded, featureNames: ['x', 'x'] })).toThrow(
      "the ONNX metadata 'feature_names': feature names must be unique",
    );
  });

  it('round-trips a regressor without a label map, with typed feature columns', () => {
    const raw = encodeOnnxMetadata({
      labels: [],
      featureNames: ['alcohol', 'colour'],
      task: 'regression',
      featureColumns: [
        { name: 'alcohol', type: 'numeric', imputed: 10.4 },
        { name: 'colour', type: 'categorical', categories: ['red', 'white'] },
      ],
    });
    expect(raw).not.toHaveProperty('label_map');
    expect(raw.task).toBe('regression');
    expect(parseOnnxMetadata(raw)).toMatchObject({
      task: 'regression',
      labels: [],
      featureColumns: [
        { name: 'alcohol', imputed: 10.4 },
        { name: 'colour', categories: ['red', 'white'] },
      ],
    });
  });

  it('refuses a classifier without a label map and feature columns that do not name the features', () => {
    expect(refusal({ feature_names: '["x"]' }).message).toBe("the ONNX metadata has no 'label_map'");
    const columns = JSON.stringify([{ name: 'y', type: 'numeric' }]);
    expect(
      refusal({ ...good, feature_names: '["x"]', feature_reference: '[]', feature_columns: columns }).key,
    ).toBe('feature_columns');
  });

  it('an image model: input_kind, image_shape and input_type, no feature names needed, a drift reference per channel', () => {
    const imageReference = {
      intensity: [{ edges: [40, 80], proportions: [0.2, 0.5, 0.3] }],
      classes: [0.5, 0.5],
    };
    const raw = encodeOnnxMetadata({
      labels: ['shirt', 'shoe'],
      image: { height: 28, width: 28, channels: 1, inputType: 'uint8' },
      imageReference,
    });
    expect(raw).toMatchObject({ input_kind: 'image', image_shape: '[28,28,1]', input_type: 'uint8' });
    expect(parseOnnxMetadata(raw)).toMatchObject({
      image: { height: 28, width: 28, channels: 1, inputType: 'uint8' },
      imageReference,
      featureNames: ['image'],
    });
    const image = { label_map: '["a"]', input_kind: 'image', image_shape: '[28,28,1]', input_type: 'uint8' };
    expect(refusal({ ...image, image_shape: '[28,28,2]' }).key).toBe('image_shape');
    const { input_type: _dropped, ...withoutType } = image;
    expect(refusal(withoutType).message).toBe("the ONNX metadata has no 'input_type'");
    expect(refusal({ label_map: '["a"]' }).message).toBe("the ONNX metadata has no 'feature_names'");
    const twoChannels = JSON.stringify({
      ...imageReference,
      intensity: [...imageReference.intensity, imageReference.intensity[0]],
    });
    expect(refusal({ ...image, image_reference: twoChannels }).message).toMatch(
      /2 intensity references for 1 channel/,
    );
  });
});
