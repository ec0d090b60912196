import { OnnxValidationError } from '@sepal/ml';
import { modelProtoType } from '@sepal/ml/onnx/onnx-proto';
import { INLINE_CHECK_MAX_BYTES, WorkerOnnxChecker } from '../src/artifacts/onnx-checker.service';
import { RegistryConfig } from '../src/registry.config';

/*
 * Files larger than INLINE_CHECK_MAX_BYTES are checked in a worker thread (the build's onnx-check-worker.js, so this
 * runs after `npm run build`): the same verdicts as on the calling thread, and the registry's event loop stays free.
 */
describe('WorkerOnnxChecker', () => {
  const checker = new WorkerOnnxChecker(RegistryConfig.load({ REGISTRY_ONNX_MAX_NODES: '10' }));

  /** A model with one initializer of `floats` values and one node of `domain`. */
  function model(floats: number, domain = '', nodes = 1): Uint8Array {
    const ModelProto = modelProtoType();
    return ModelProto.encode(
      ModelProto.fromObject({
        ir_version: 8,
        opset_import: [{ domain: '', version: 17 }, ...(domain ? [{ domain, version: 1 }] : [])],
        graph: {
          name: 'g',
          initializer: [{ name: 'w', dims: [floats], data_type: 1, raw_data: new Uint8Array(floats * 4) }],
          node: Array.from({ length: nodes }, (_, i) => ({
            name: `n${i}`,
            op_type: domain ? 'FusedConv' : 'Identity',
            domain,
            input: ['w'],
            output: [`y${i}`],
          })),
        },
      }),
    ).finish();
  }

  it('accepts a large valid model, checked in the worker thread', async () => {
    const bytes = model(200_000);
    expect(bytes.length).toBeGreaterThan(INLINE_CHECK_MAX_BYTES);
    await expect(checker.check(bytes)).resolves.toBeUndefined();
  });

  it('refuses a large model with a foreign operator domain or too many nodes, naming the rule', async () => {
    const foreign = await checker.check(model(200_000, 'com.microsoft')).catch((e: unknown) => e);
    expect(foreign).toBeInstanceOf(OnnxValidationError);
    expect((foreign as Error).message).toMatch(/operator domain "com\.microsoft", which is not allowed/);
    await expect(checker.check(model(200_000, '', 11))).rejects.toThrow(
      'the model has more than 10 nodes (the most allowed)',
    );
  });

  it('refuses large bytes that are not an ONNX model', async () => {
    const garbage = new Uint8Array(INLINE_CHECK_MAX_BYTES + 1).fill(0xff);
    await expect(checker.check(garbage)).rejects.toThrow(/^not an ONNX model/);
  });
});
