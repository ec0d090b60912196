import { modelInfo } from '../../test/fakes';
import { createSignature } from '../predict/model-signature';
import { emptyGroup, type ScoredRequest } from './logged-rows';

const info = modelInfo({ version: 2, testMetrics: { test_accuracy: 0.9, val_accuracy: 0.95 } });

const scored = (regression: boolean): ScoredRequest => ({
  info,
  signature: regression
    ? createSignature(['x'], [], { task: 'regression' })
    : createSignature(['a', 'b'], ['no', 'yes']),
  parsed: { rows: 0, data: new Float32Array(0) },
  output: regression
    ? { probabilities: new Float32Array(0), labels: new Int32Array(0), values: new Float32Array(0) }
    : { probabilities: new Float32Array(0), labels: new Int32Array(0) },
  ids: [],
  latencyMs: 0,
  keyName: null,
});

describe('emptyGroup', () => {
  it("says once what a classifier's rows share: the version, its test figures, the input names and the classes", () => {
    expect(emptyGroup(scored(false))).toEqual({
      model: 'M',
      version: 2,
      sha256: 'a'.repeat(64),
      testMetrics: { test_accuracy: 0.9 },
      features: ['a', 'b'],
      labels: ['no', 'yes'],
      classes: [],
      probabilities: [],
      predictionIds: [],
      inputs: [],
      latencyMs: [],
      keyNames: [],
      at: [],
    });
  });

  it('names no classes for a regressor: its rows carry values', () => {
    const group = emptyGroup(scored(true));
    expect(group).toMatchObject({ features: ['x'], values: [] });
    expect(group).not.toHaveProperty('labels');
    expect(group).not.toHaveProperty('classes');
  });
});
