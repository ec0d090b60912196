import { TestEnvironment } from 'jest-environment-node';
import type { EnvironmentContext, JestEnvironmentConfig } from '@jest/environment';

const TYPED_ARRAY_CONSTRUCTORS = [
  'ArrayBuffer',
  'Float32Array',
  'Float64Array',
  'Int8Array',
  'Uint8Array',
  'Int16Array',
  'Uint16Array',
  'Int32Array',
  'Uint32Array',
  'BigInt64Array',
  'BigUint64Array',
] as const;

/**
 * onnxruntime-node's native binding returns typed arrays made in Node's main realm, while a Jest test runs in a
 * vm context with its own constructors, so onnxruntime-common's instanceof checks reject every output
 * (microsoft/onnxruntime#16622). Tests that run a session use this environment, which shares the main realm's
 * constructors: `@jest-environment ./libs/ml/test/onnxruntime-environment.ts`.
 */
export default class OnnxRuntimeEnvironment extends TestEnvironment {
  constructor(config: JestEnvironmentConfig, context: EnvironmentContext) {
    super(config, context);
    for (const name of TYPED_ARRAY_CONSTRUCTORS) {
      this.global[name] = globalThis[name] as never;
    }
  }
}
