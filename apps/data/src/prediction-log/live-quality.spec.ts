import { liveQuality } from './live-quality';

describe('liveQuality', () => {
  it('computes accuracy and macro-F1 per classifier version from confusion counts', () => {
    const quality = liveQuality(
      [
        { model: 'M', version: 1, predicted: 'a', actual: 'a', count: 3 },
        { model: 'M', version: 1, predicted: 'b', actual: 'a', count: 1 },
        { model: 'M', version: 1, predicted: 'b', actual: 'b', count: 4 },
        { model: 'M', version: 2, predicted: 'a', actual: 'a', count: 2 },
      ],
      [],
    );
    const v1 = quality.filter((q) => q.version === 1);
    expect(v1.find((q) => q.metric === 'accuracy')).toMatchObject({ value: 7 / 8, labelled: 8 });
    // a: precision 1, recall 3/4 -> F1 6/7; b: precision 4/5, recall 1 -> F1 8/9.
    expect(v1.find((q) => q.metric === 'macro_f1')!.value).toBeCloseTo((6 / 7 + 8 / 9) / 2, 10);
    expect(quality.filter((q) => q.version === 2).map((q) => q.value)).toEqual([1, 1]);
  });

  it('computes RMSE and MAE per regressor version from error sums', () => {
    const quality = liveQuality([], [{ model: 'R', version: 3, count: 4, squared: 16, absolute: 6 }]);
    expect(quality).toEqual([
      { model: 'R', version: 3, metric: 'rmse', value: 2, labelled: 4 },
      { model: 'R', version: 3, metric: 'mae', value: 1.5, labelled: 4 },
    ]);
  });

  it('reports nothing without labelled rows', () => {
    expect(liveQuality([], [{ model: 'R', version: 1, count: 0, squared: 0, absolute: 0 }])).toEqual([]);
  });
});
