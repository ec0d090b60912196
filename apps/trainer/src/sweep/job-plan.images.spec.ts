import { DEFAULT_CNN_PARAMS, DEFAULT_IMAGE_GRID } from '@sepal/ml';
import { JobRejectedError } from '../jobs/job-errors';
import { DEFAULT_PLAN_LIMITS, describeTrial, planJob } from './job-plan';

const limits = DEFAULT_PLAN_LIMITS;
const fashion = { features: 784, classes: 10, rows: 48_000 };
const plan = (grid: unknown, params?: Record<string, unknown>, images?: boolean) =>
  planJob(
    grid,
    params,
    limits,
    undefined,
    images === undefined ? undefined : fashion,
    'classification',
    images,
  );

describe('planJob for image datasets', () => {
  it('chooses the default image grid, the default CNN with 16 or 32 filters, for an image dataset', () => {
    const planned = plan(undefined, undefined, true);
    expect(planned.defaultGrid).toBe(true);
    expect(DEFAULT_IMAGE_GRID).toEqual({ model: ['cnn'], filters: [16, 32] });
    expect(planned.trials).toEqual([
      { model: 'cnn', ...DEFAULT_CNN_PARAMS, filters: 16 },
      { model: 'cnn', ...DEFAULT_CNN_PARAMS, filters: 32 },
    ]);
    expect(planned.trials.map((trial) => describeTrial(trial, planned.grid))).toEqual([
      'model=cnn filters=16',
      'model=cnn filters=32',
    ]);
  });

  it('makes cnn the family of a grid that names none, and applies fixed params shared with dense', () => {
    const planned = plan({ dropout: [0, 0.5], denseUnits: [64] }, { epochs: 3, learningRate: 0.01 }, true);
    expect(planned.trials).toHaveLength(2);
    expect(planned.trials[1]).toMatchObject({
      model: 'cnn',
      dropout: 0.5,
      denseUnits: 64,
      epochs: 3,
      learningRate: 0.01,
    });
  });

  it('refuses table families on images and cnn on tables, naming the family', () => {
    expect(() => plan({ model: ['dense', 'cnn'] }, undefined, true)).toThrow(
      /model dense trains on tables; an image dataset trains model cnn only/,
    );
    expect(() => plan({ model: ['cnn'], filters: [8] }, undefined, false)).toThrow(JobRejectedError);
    expect(() => plan({ model: ['cnn'], filters: [8] }, undefined, false)).toThrow(
      /model cnn trains on image datasets only/,
    );
  });

  it('accepts either kind of grid before the dataset is known (the request is checked again with it)', () => {
    expect(plan({ filters: [8] }).trials[0]).toMatchObject({ model: 'cnn', filters: 8 });
    expect(plan({ hiddenUnits: [8] }).trials[0]).toMatchObject({ model: 'dense', hiddenUnits: 8 });
    expect(() => plan({ filters: [8], hiddenUnits: [8] })).toThrow(/filters is a parameter of model cnn/);
  });

  it('checks every CNN parameter against its bounds and the trainer limits, naming each', () => {
    expect(() => plan({ filters: [0], dropout: [0.95], padding: ['full'] }, undefined, true)).toThrow(
      /filters: 0 is out of bounds.*dropout: 0\.95 is out of bounds.*padding: "full" is not one of same, valid/,
    );
    const tight = { ...limits, maxEpochs: 5, maxRowEpochs: 100_000 };
    expect(() =>
      planJob({ epochs: [10] }, undefined, tight, undefined, fashion, 'classification', true),
    ).toThrow(/epochs 10 is over the limit of 5 \(TRAIN_MAX_EPOCHS\).*48000 images × epochs = 480000/);
  });
});
