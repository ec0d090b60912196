import { DEFAULT_TRAINING_PARAMS, type TrainingParams } from './training-params';
import { DEFAULT_TRAINING_LIMITS, denseParameterCount, trainingLimitProblems } from './training-limits';

const trial = (params: Partial<TrainingParams> = {}): TrainingParams => ({
  ...DEFAULT_TRAINING_PARAMS,
  ...params,
});

describe('trainingLimitProblems', () => {
  it('accepts the default parameters', () => {
    expect(
      trainingLimitProblems([trial()], DEFAULT_TRAINING_LIMITS, { features: 4, classes: 3, rows: 96 }),
    ).toEqual([]);
  });

  it('names the limit, its variable and the value asked for', () => {
    expect(trainingLimitProblems([trial({ hiddenUnits: 1_000_000_000 })], DEFAULT_TRAINING_LIMITS)).toEqual([
      'hiddenUnits 1000000000 is over the limit of 1024 (TRAIN_MAX_HIDDEN_UNITS)',
      'a network of 1000000000 parameters is over the limit of 2000000 (TRAIN_MAX_PARAMETERS)',
    ]);
    expect(trainingLimitProblems([trial({ epochs: 100_000_000 })], DEFAULT_TRAINING_LIMITS)).toEqual([
      'epochs 100000000 is over the limit of 2000 (TRAIN_MAX_EPOCHS)',
    ]);
  });

  it('refuses a grid with more trials than allowed', () => {
    const trials = Array.from({ length: 300 }, (_, i) => trial({ learningRate: 0.001 * (i + 1) }));
    expect(trainingLimitProblems(trials, DEFAULT_TRAINING_LIMITS)).toEqual([
      'a grid of 300 trials is over the limit of 64 (TRAIN_MAX_TRIALS)',
    ]);
  });

  it('checks rows × epochs and the full parameter count once the data is known', () => {
    const limits = { ...DEFAULT_TRAINING_LIMITS, maxRowEpochs: 1000, maxParameters: 100 };
    expect(
      trainingLimitProblems([trial({ epochs: 20 })], limits, { features: 4, classes: 3, rows: 96 }),
    ).toEqual([
      `a network of ${denseParameterCount(trial(), 4, 3)} parameters is over the limit of 100 (TRAIN_MAX_PARAMETERS)`,
      '96 rows × epochs = 1920 is over the limit of 1000 (TRAIN_MAX_ROW_EPOCHS)',
    ]);
  });

  it('counts weights and biases of every layer', () => {
    // 4 inputs → 16 → 16 → 3: (4+1)·16 + (16+1)·16 + (16+1)·3
    expect(denseParameterCount(trial({ hiddenUnits: 16, hiddenLayers: 2 }), 4, 3)).toBe(80 + 272 + 51);
  });
});
