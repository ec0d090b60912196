import {
  defaultGradientBoostingParams,
  defaultRandomForestParams,
  featuresPerSplit,
  gradientBoostingParamProblems,
  randomForestParamProblems,
  resolveGradientBoostingParams,
  resolveRandomForestParams,
} from './tree-params';

describe('tree ensemble parameters', () => {
  it('defaults to scikit-learn-like forests: sqrt features to classify, all to regress', () => {
    expect(resolveRandomForestParams({ task: 'classification' })).toEqual({
      task: 'classification',
      trees: 100,
      maxDepth: null,
      minSamplesLeaf: 1,
      featureFraction: 'sqrt',
      maxBins: 65_535,
      bootstrap: true,
      classWeight: 'none',
    });
    expect(resolveRandomForestParams({ task: 'regression' }).featureFraction).toBe(1);
  });

  it('defaults boosting to scikit-learn-like rounds, shrinkage and leaves, with l2 = 1', () => {
    expect(resolveGradientBoostingParams({ task: 'classification' })).toEqual({
      task: 'classification',
      rounds: 100,
      learningRate: 0.1,
      maxDepth: null,
      maxLeaves: 31,
      minSamplesLeaf: 20,
      l2: 1,
      featureFraction: 1,
      maxBins: 255,
      earlyStoppingRounds: 10,
    });
  });

  it('overrides the defaults with the given values and ignores undefined ones', () => {
    const params = resolveGradientBoostingParams({ task: 'regression', rounds: 20, l2: undefined });
    expect(params).toEqual({ ...defaultGradientBoostingParams('regression'), rounds: 20 });
  });

  it('names every invalid parameter with its accepted range', () => {
    expect(
      randomForestParamProblems({
        ...defaultRandomForestParams('classification'),
        trees: 0,
        maxDepth: 2.5,
        featureFraction: 1.5,
        maxBins: 65_536,
        bootstrap: 'yes' as unknown as boolean,
        classWeight: 'even' as unknown as 'none',
      }),
    ).toEqual([
      'maxDepth: 2.5 is not an integer (or null for no limit)',
      'featureFraction: 1.5 is out of bounds, expected > 0 and <= 1 (or "sqrt")',
      'maxBins: 65536 is out of bounds, expected >= 2 and <= 65535',
      'trees: 0 is out of bounds, expected >= 1 and <= 10000',
      'bootstrap: "yes" is not true or false',
      'classWeight: "even" is not one of none, balanced',
    ]);
    expect(
      randomForestParamProblems({ ...defaultRandomForestParams('regression'), classWeight: 'balanced' }),
    ).toEqual(['classWeight: "balanced" applies to classification only; use "none" for regression']);
    expect(
      gradientBoostingParamProblems({
        ...defaultGradientBoostingParams('regression'),
        learningRate: 0,
        maxLeaves: 1,
        earlyStoppingRounds: Number.NaN,
      }),
    ).toEqual([
      'learningRate: 0 is out of bounds, expected > 0 and <= 1',
      'maxLeaves: 1 is out of bounds, expected >= 2 and <= 65536',
      'earlyStoppingRounds: NaN is not a finite number',
    ]);
  });

  it('throws with every problem when resolving invalid parameters or an unknown task', () => {
    expect(() => resolveRandomForestParams({ task: 'classification', minSamplesLeaf: 0, trees: -1 })).toThrow(
      'invalid random forest parameters: minSamplesLeaf: 0 is out of bounds, expected >= 1 and <= 1000000; ' +
        'trees: -1 is out of bounds, expected >= 1 and <= 10000',
    );
    expect(() => resolveGradientBoostingParams({ task: 'ranking' as 'regression' })).toThrow(
      'gradient boosting parameters: task "ranking" is not "classification" or "regression"',
    );
  });

  it('turns the feature fraction into a count of at least 1 and at most all features', () => {
    expect(featuresPerSplit('sqrt', 11)).toBe(3);
    expect(featuresPerSplit('sqrt', 1)).toBe(1);
    expect(featuresPerSplit(0.5, 11)).toBe(5);
    expect(featuresPerSplit(0.01, 11)).toBe(1);
    expect(featuresPerSplit(1, 11)).toBe(11);
  });
});
