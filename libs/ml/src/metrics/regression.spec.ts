import { regressionReport } from './regression';

describe('regressionReport', () => {
  it('computes RMSE, MAE, R² and the share within the tolerance as scikit-learn does', () => {
    // sklearn: mean_squared_error([3, -0.5, 2, 7], [2.5, 0.0, 2, 8]) = 0.375, MAE 0.5, r2 0.9486081370449679
    const report = regressionReport([3, -0.5, 2, 7], [2.5, 0.0, 2, 8]);
    expect(report.rmse).toBeCloseTo(Math.sqrt(0.375), 12);
    expect(report.mae).toBeCloseTo(0.5, 12);
    expect(report.r2).toBeCloseTo(0.9486081370449679, 12);
    expect(report.withinTolerance).toBe(0.75);
    expect(regressionReport([3, -0.5, 2, 7], [2.5, 0.0, 2, 8], 1).withinTolerance).toBe(1);
  });

  it('scores a constant truth: 1 when predicted exactly, else 0', () => {
    expect(regressionReport([2, 2], [2, 2]).r2).toBe(1);
    expect(regressionReport([2, 2], [2, 3]).r2).toBe(0);
  });

  it('refuses mismatched, empty and non-finite input and a bad tolerance', () => {
    expect(() => regressionReport([1], [1, 2])).toThrow(/1 true values but 2 predictions/);
    expect(() => regressionReport([], [])).toThrow(/no values/);
    expect(() => regressionReport([1], [Number.NaN])).toThrow(/finite/);
    expect(() => regressionReport([1], [1], -1)).toThrow(/tolerance/);
  });
});
