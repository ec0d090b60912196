import { DEFAULT_CNN_PARAMS } from '../../model/cnn-spec';
import {
  defaultGridOf,
  expandModelGrid,
  FAMILY_PARAM_NAMES,
  refitTrialParams,
  resolveFixedParams,
  validateModelGrid,
  type TrialParams,
} from '../model-families';
import { cnnConvolutionMacs, estimateCnnSeconds } from './cnn';

describe('the cnn model family', () => {
  it('has the CNN hyperparameters as its grid parameters, in the order of CnnParams', () => {
    expect(FAMILY_PARAM_NAMES.cnn).toEqual(Object.keys(DEFAULT_CNN_PARAMS));
  });

  it('expands a cnn grid over the default CNN, normalising CLI strings', () => {
    const checked = validateModelGrid({ model: ['cnn'], filters: [8, 16], batchNorm: ['false'] });
    expect(checked.ok).toBe(true);
    if (!checked.ok) return;
    const trials = expandModelGrid(checked.value);
    expect(trials).toEqual([
      { model: 'cnn', ...DEFAULT_CNN_PARAMS, filters: 8, batchNorm: false },
      { model: 'cnn', ...DEFAULT_CNN_PARAMS, filters: 16, batchNorm: false },
    ]);
  });

  it('reports every bad value, each naming its parameter and bounds', () => {
    const checked = validateModelGrid({
      model: ['cnn'],
      convBlocks: [5],
      kernelSize: [2.5],
      optimizer: ['lbfgs'],
    });
    expect(checked.ok).toBe(false);
    if (checked.ok) return;
    expect(checked.errors).toEqual([
      'convBlocks: 5 is out of bounds, expected >= 1 and <= 4',
      'kernelSize: 2.5 is not an integer',
      'optimizer: "lbfgs" is not one of adam, sgd, rmsprop',
    ]);
  });

  it('takes fixed params shared with dense for both families', () => {
    const { bases, problems } = resolveFixedParams({ epochs: 4, batchSize: 32 });
    expect(problems).toEqual([]);
    expect(bases.cnn).toMatchObject({ epochs: 4, batchSize: 32, filters: DEFAULT_CNN_PARAMS.filters });
    expect(bases.dense).toMatchObject({ epochs: 4, batchSize: 32 });
  });

  it('refits with the early-stopped epochs fixed and no early stopping', () => {
    const trial: TrialParams = { model: 'cnn', ...DEFAULT_CNN_PARAMS };
    expect(refitTrialParams(trial, 5)).toEqual({ ...trial, epochs: 5, earlyStoppingPatience: 0 });
  });

  it('defaults to the image grid for images and to the table grids otherwise', () => {
    expect(defaultGridOf(true)).toEqual([{ model: ['cnn'], filters: [16, 32] }]);
    expect(defaultGridOf(false).map((grid) => grid.model)).toEqual([['forest'], ['gbdt'], ['dense']]);
  });

  it('prices a trial by its convolutions, rows and epochs', () => {
    const params = { ...DEFAULT_CNN_PARAMS, padding: 'same' as const };
    // 28×28×1 → 16 filters 3×3, then 14×14×16 → 32 filters 3×3.
    expect(cnnConvolutionMacs(params, { height: 28, width: 28, channels: 1 })).toBe(
      28 * 28 * 9 * 16 + 14 * 14 * 9 * 16 * 32,
    );
    const shape = { features: 784, classes: 10, rows: 1000 };
    const small = estimateCnnSeconds(params, shape);
    expect(estimateCnnSeconds({ ...params, filters: 32 }, shape)).toBeGreaterThan(small);
    expect(estimateCnnSeconds(params, { ...shape, rows: 2000 })).toBeGreaterThan(small);
  });
});
