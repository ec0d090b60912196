import { DEFAULT_FOREST_PARAMS, DEFAULT_TRAINING_PARAMS } from '@sepal/ml';
import { isBetterTrial, TrialResult } from './grid-search';

const trial = (index: number, valAccuracy: number, parameterCount: number, valLoss: number): TrialResult => ({
  index,
  params: { model: 'dense', ...DEFAULT_TRAINING_PARAMS },
  status: 'finished',
  valAccuracy,
  valLoss,
  bestEpoch: 10,
  epochsRun: 20,
  parameterCount,
  stoppedEarly: true,
  seconds: 1,
});

describe('isBetterTrial', () => {
  it('prefers the higher validation accuracy whatever the size and loss', () => {
    expect(isBetterTrial(trial(1, 0.96, 500, 0.3), trial(0, 0.92, 50, 0.01))).toBe(true);
  });

  it('among equally accurate trials prefers the smaller network, even with a higher loss', () => {
    expect(isBetterTrial(trial(1, 0.96, 67, 0.09), trial(0, 0.96, 259, 0.05))).toBe(true);
    expect(isBetterTrial(trial(1, 0.96, 259, 0.05), trial(0, 0.96, 67, 0.09))).toBe(false);
  });

  it('breaks a tie of accuracy and size on the validation loss, and keeps the earlier trial on a complete tie', () => {
    expect(isBetterTrial(trial(1, 0.96, 67, 0.08), trial(0, 0.96, 67, 0.09))).toBe(true);
    expect(isBetterTrial(trial(1, 0.96, 67, 0.09), trial(0, 0.96, 67, 0.09))).toBe(false);
  });

  it('never selects a failed trial', () => {
    expect(isBetterTrial({ ...trial(1, 1, 10, 0), status: 'failed' }, null)).toBe(false);
  });
});

describe('isBetterTrial across families', () => {
  const of = (
    model: 'forest' | 'dense',
    valAccuracy: number,
    size: number,
    valLoss: number,
  ): TrialResult => ({
    ...trial(0, valAccuracy, size, valLoss),
    params: model === 'dense' ? { model, ...DEFAULT_TRAINING_PARAMS } : { model, ...DEFAULT_FOREST_PARAMS },
  });

  it('selects on validation accuracy whatever the family', () => {
    expect(isBetterTrial(of('forest', 0.7, 90_000, 0.9), of('dense', 0.6, 300, 0.8))).toBe(true);
    expect(isBetterTrial(of('dense', 0.7, 300, 0.9), of('forest', 0.6, 90_000, 0.8))).toBe(true);
  });

  it('breaks an accuracy tie across families on the validation loss, not on the size', () => {
    expect(isBetterTrial(of('forest', 0.7, 90_000, 0.5), of('dense', 0.7, 300, 0.6))).toBe(true);
    expect(isBetterTrial(of('forest', 0.7, 90_000, 0.7), of('dense', 0.7, 300, 0.6))).toBe(false);
  });
});
