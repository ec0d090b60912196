import { createSignature } from '../predict/model-signature';
import { inferResponse, modelMetadata, parseInferRequest } from './oip-mapping';

const signature = createSignature(['a', 'b'], ['no', 'yes']);
const info = {
  name: 'M',
  version: 3,
  sha256: 'f'.repeat(64),
  runId: 'r',
  datasetVersion: null,
  size: 10,
  loadedAt: '2024-01-01T00:00:00.000Z',
};
const tensor = (over: Record<string, unknown> = {}) => ({
  inputs: [{ name: 'features', shape: [2, 2], datatype: 'FP32', data: [1, 2, 3, 4], ...over }],
});

describe('Open Inference Protocol mapping', () => {
  it('describes the model tensors', () => {
    const meta = modelMetadata(info, signature);
    expect(meta).toMatchObject({
      name: 'M',
      versions: ['3'],
      inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 2] }],
    });
    expect(meta.outputs.map((o) => o.name)).toEqual(['probabilities', 'label', 'class_name']);
  });

  it('reads flat and nested data and maps outputs back row-major', () => {
    const flat = parseInferRequest({ id: 'x', ...tensor() }, signature, 10);
    const nested = parseInferRequest(
      tensor({
        data: [
          [1, 2],
          [3, 4],
        ],
      }),
      signature,
      10,
    );
    expect(nested.data).toEqual(flat.data);
    expect(flat).toMatchObject({ id: 'x', rows: 2 });
    const response = inferResponse(
      info,
      signature,
      flat,
      { probabilities: new Float32Array([0.25, 0.75, 1, 0]), labels: new Int32Array([1, 0]) },
      ['id-0', 'id-1'],
    );
    expect(response).toEqual({
      model_name: 'M',
      model_version: '3',
      id: 'x',
      parameters: { sha256: info.sha256, prediction_ids: ['id-0', 'id-1'] },
      outputs: [
        { name: 'probabilities', datatype: 'FP32', shape: [2, 2], data: [0.25, 0.75, 1, 0] },
        { name: 'label', datatype: 'INT64', shape: [2], data: [1, 0] },
        { name: 'class_name', datatype: 'BYTES', shape: [2], data: ['yes', 'no'] },
      ],
    });
  });

  it('returns only the requested outputs', () => {
    const request = parseInferRequest({ ...tensor(), outputs: [{ name: 'label' }] }, signature, 10);
    const response = inferResponse(
      info,
      signature,
      request,
      { probabilities: new Float32Array(4), labels: new Int32Array([0, 1]) },
      ['id-0', 'id-1'],
    );
    expect(response.outputs.map((o) => o.name)).toEqual(['label']);
    // Without a request id, the answer's id is the first row's prediction id.
    expect(response.id).toBe('id-0');
  });

  it.each([
    [{ inputs: [] }, "inputs: must be an array with exactly one tensor named 'features'"],
    [tensor({ name: 'x' }), `inputs[0].name: unknown input "x"; the model takes 'features'`],
    [
      tensor({ datatype: 'BYTES' }),
      'inputs[0].datatype: must be FP32 (or another numeric type), got a string "BYTES"',
    ],
    [tensor({ shape: [2, 3] }), 'inputs[0].shape: expected [N, 2] (a, b), got [2,3]'],
    [
      tensor({ shape: [20, 2] }),
      'inputs[0].shape: 20 rows is more than the maximum of 10 per request (MAX_BATCH_ROWS)',
    ],
    [tensor({ data: [1, 2, 3] }), 'inputs[0].data: shape [2,2] needs 4 values, got 3'],
    [tensor({ data: [1, 2, 3, 4, 5] }), 'inputs[0].data: shape [2,2] needs 4 values, got more'],
    [
      tensor({
        data: [
          [1, 2],
          [3, 'x'],
        ],
      }),
      'inputs[0].data[1][1]: must be a finite number (got a string "x")',
    ],
    [
      { ...tensor(), outputs: [{ name: 'logits' }] },
      'outputs[0].name: must be one of probabilities, label, class_name',
    ],
  ])('rejects %j', (body, message) => {
    expect(() => parseInferRequest(body, signature, 10)).toThrow(message);
  });
});
