import {
  encodedFeatureNames,
  encodeFeatureRows,
  featurePreprocessingProblems,
  featureTensorValues,
  fitFeaturePreprocessing,
  sumByColumn,
  type FeatureColumn,
  type FeaturePreprocessing,
} from './feature-preprocessing';

const columns: FeatureColumn[] = [
  { name: 'x', type: 'numeric' },
  { name: 'colour', type: 'categorical' },
];

describe('fitFeaturePreprocessing', () => {
  const rows = [
    [1, 'red'],
    [null, 'blue'],
    [3, null],
    [10, 'red'],
  ];

  it('takes the median of the present values, the sorted categories, and standardises after imputing', () => {
    const fitted = fitFeaturePreprocessing(columns, rows, { standardize: true });
    expect(fitted.medians).toEqual([3]);
    expect(fitted.categories).toEqual([['blue', 'red']]);
    // Imputed column: 1, 3, 3, 10 -> mean 4.25.
    expect(fitted.standardizer!.mean[0]).toBeCloseTo(4.25, 12);
    expect(encodedFeatureNames(fitted)).toEqual(['x', 'colour=blue', 'colour=red']);
    expect(featurePreprocessingProblems(fitted)).toEqual([]);
  });

  it('encodes a missing number as the median and unseen or missing categories as all zeros', () => {
    const fitted = fitFeaturePreprocessing(columns, rows, { standardize: false });
    expect(fitted.standardizer).toBeUndefined();
    expect(
      encodeFeatureRows(fitted, [
        [null, 'red'],
        [2, 'green'],
        [2, null],
      ]),
    ).toEqual([
      [3, 0, 1],
      [2, 0, 0],
      [2, 0, 0],
    ]);
  });

  it('builds the graph inputs: NaN for a missing number, an empty string for a missing category', () => {
    expect(
      featureTensorValues(columns, [
        [null, null],
        [1.5, 'red'],
      ]),
    ).toEqual({
      numeric: [Number.NaN, 1.5],
      categorical: ['', 'red'],
    });
  });

  it('refuses a string in a numeric column and a ragged row, naming them', () => {
    expect(() => fitFeaturePreprocessing(columns, [['a', 'red']], { standardize: true })).toThrow(
      /row 0, column 'x' is numeric but holds "a"/,
    );
    expect(() =>
      encodeFeatureRows(fitFeaturePreprocessing(columns, rows, { standardize: false }), [[1]]),
    ).toThrow(/row 0 has 1 values, expected 2/);
  });
});

describe('sumByColumn', () => {
  it('sums a categorical column’s one-hot block onto the column, in column order', () => {
    const preprocessing: FeaturePreprocessing = {
      columns: [
        { name: 'a', type: 'numeric' },
        { name: 'colour', type: 'categorical' },
        { name: 'b', type: 'numeric' },
        { name: 'empty', type: 'categorical' },
      ],
      categories: [['blue', 'red'], []],
    };
    // Encoded: [a, b, colour=blue, colour=red]
    expect(sumByColumn(preprocessing, [0.1, 0.2, 0.3, 0.4])).toEqual([0.1, 0.3 + 0.4, 0.2, 0]);
    expect(() => sumByColumn(preprocessing, [1, 2, 3])).toThrow('3 values for 4 encoded columns');
  });
});
