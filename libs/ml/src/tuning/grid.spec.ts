import { countGridCombinations, DEFAULT_GRID, expandGrid, validateGrid } from './grid';
import { DEFAULT_TRAINING_PARAMS, TRAINING_PARAM_NAMES } from './training-params';

function errorsOf(grid: unknown): string[] {
  const result = validateGrid(grid);
  return result.ok ? [] : result.errors;
}

describe('validateGrid', () => {
  it('accepts the default grid and an empty grid', () => {
    expect(validateGrid(DEFAULT_GRID)).toEqual({ ok: true, value: DEFAULT_GRID });
    expect(validateGrid({}).ok).toBe(true);
  });

  it('accepts every parameter at its bounds', () => {
    const grid = {
      learningRate: [1e-6, 1],
      hiddenUnits: [1],
      hiddenLayers: [1, 4],
      activation: ['relu', 'tanh', 'sigmoid'],
      optimizer: ['adam', 'sgd', 'rmsprop'],
      epochs: [1],
      batchSize: [1],
      earlyStoppingPatience: [0],
      l2: [0, 0.01],
    };
    expect(errorsOf(grid)).toEqual([]);
  });

  it('rejects something that is not an object', () => {
    for (const bad of [null, [1], 'learningRate=1', 3]) {
      expect(errorsOf(bad)).toEqual([
        'the grid must be an object mapping parameter names to lists of values',
      ]);
    }
  });

  it('names the known parameters when one is unknown, with a hint for a case slip', () => {
    const [message] = errorsOf({ learningrate: [0.1] });
    expect(message).toContain('unknown parameter "learningrate" (did you mean learningRate?)');
    for (const name of TRAINING_PARAM_NAMES) expect(message).toContain(name);
    expect(errorsOf({ dropout: [0.1] })[0]).toMatch(
      /^unknown parameter "dropout"; known parameters: learningRate,/,
    );
  });

  it('rejects empty lists, scalars, wrong types, non-integers and out-of-bounds values', () => {
    expect(errorsOf({ hiddenUnits: [] })).toEqual(['hiddenUnits: the list of values is empty']);
    expect(errorsOf({ hiddenUnits: 8 })).toEqual(['hiddenUnits: expected a list of values, got 8']);
    expect(errorsOf({ learningRate: ['fast'] })).toEqual([
      'learningRate: "fast" is a string, expected a number',
    ]);
    expect(errorsOf({ activation: [1] })).toEqual(['activation: 1 is a number, expected a string']);
    expect(errorsOf({ activation: ['gelu'] })).toEqual([
      'activation: "gelu" is not one of relu, tanh, sigmoid',
    ]);
    expect(errorsOf({ optimizer: ['adagrad'] })).toEqual([
      'optimizer: "adagrad" is not one of adam, sgd, rmsprop',
    ]);
    expect(errorsOf({ hiddenUnits: [8.5] })).toEqual(['hiddenUnits: 8.5 is not an integer']);
    expect(errorsOf({ learningRate: [0] })).toEqual(['learningRate: 0 is out of bounds, expected > 0']);
    expect(errorsOf({ hiddenLayers: [5] })).toEqual([
      'hiddenLayers: 5 is out of bounds, expected >= 1 and <= 4',
    ]);
    expect(errorsOf({ earlyStoppingPatience: [-1] })).toEqual([
      'earlyStoppingPatience: -1 is out of bounds, expected >= 0',
    ]);
    expect(errorsOf({ l2: [-0.1] })).toEqual(['l2: -0.1 is out of bounds, expected >= 0']);
    expect(errorsOf({ epochs: [0] })).toEqual(['epochs: 0 is out of bounds, expected >= 1']);
    expect(errorsOf({ batchSize: [Number.POSITIVE_INFINITY] })).toEqual([
      'batchSize: Infinity is not a finite number',
    ]);
  });

  it('rejects duplicate values and reports every problem at once', () => {
    expect(errorsOf({ hiddenUnits: [8, 16, 8], learningRate: [-1], foo: [1] })).toHaveLength(3);
    expect(errorsOf({ hiddenUnits: [8, 8] })).toEqual(['hiddenUnits: 8 is listed twice']);
  });

  it('rejects a grid over the absolute ceiling of combinations before expanding it', () => {
    const values = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
    const grid = { hiddenUnits: values(100), epochs: values(100), batchSize: values(2) };
    expect(errorsOf(grid)).toEqual(['the grid has 20000 combinations; at most 10000 are allowed']);
    expect(errorsOf({ ...grid, batchSize: [1] })).toEqual([]);
  });
});

describe('expandGrid', () => {
  it('yields the cartesian product over the defaults, last canonical parameter fastest', () => {
    const combinations = expandGrid({ hiddenUnits: [8, 16], learningRate: [0.1, 0.2] });
    expect(combinations.map(({ learningRate, hiddenUnits }) => [learningRate, hiddenUnits])).toEqual([
      [0.1, 8],
      [0.1, 16],
      [0.2, 8],
      [0.2, 16],
    ]);
    for (const params of combinations) {
      expect(params).toEqual({
        ...DEFAULT_TRAINING_PARAMS,
        learningRate: params.learningRate,
        hiddenUnits: params.hiddenUnits,
      });
    }
  });

  it('expands the default grid to 9 distinct combinations', () => {
    const combinations = expandGrid(DEFAULT_GRID);
    expect(combinations).toHaveLength(9);
    expect(countGridCombinations(DEFAULT_GRID)).toBe(9);
    expect(new Set(combinations.map((params) => JSON.stringify(params))).size).toBe(9);
  });

  it('returns the defaults alone for an empty grid, without sharing the defaults object', () => {
    const [only, ...rest] = expandGrid({});
    expect(rest).toEqual([]);
    expect(only).toEqual(DEFAULT_TRAINING_PARAMS);
    expect(only).not.toBe(DEFAULT_TRAINING_PARAMS);
  });

  it('merges over a caller-supplied base', () => {
    const [params] = expandGrid({ activation: ['tanh'] }, { ...DEFAULT_TRAINING_PARAMS, epochs: 7 });
    expect(params).toMatchObject({ activation: 'tanh', epochs: 7 });
  });

  it('throws with the validation messages on an invalid grid', () => {
    expect(() => expandGrid({ hiddenLayers: [9] })).toThrow('Invalid grid: hiddenLayers: 9 is out of bounds');
  });
});
