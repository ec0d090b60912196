import { classificationReport } from './classification';

describe('classificationReport', () => {
  // The example from scikit-learn's classification_report documentation.
  const yTrue = [0, 1, 2, 2, 2];
  const yPred = [0, 0, 2, 2, 1];
  const labels = ['class 0', 'class 1', 'class 2'];

  it('reproduces scikit-learn on its documented example', () => {
    const report = classificationReport(yTrue, yPred, undefined, labels);
    expect(report.accuracy).toBeCloseTo(0.6, 12);
    expect(report.confusionMatrix).toEqual([
      [1, 0, 0],
      [1, 0, 0],
      [0, 1, 2],
    ]);
    const [first, second, third] = report.perClass;
    expect(first).toMatchObject({ label: 'class 0', precision: 0.5, recall: 1, support: 1 });
    expect(first.f1).toBeCloseTo(2 / 3, 12);
    expect(second).toEqual({ label: 'class 1', precision: 0, recall: 0, f1: 0, support: 1 });
    expect(third).toMatchObject({ label: 'class 2', precision: 1, support: 3 });
    expect(third.recall).toBeCloseTo(2 / 3, 12);
    expect(third.f1).toBeCloseTo(0.8, 12);
    // scikit-learn prints 0.49 for the macro average of F1: (2/3 + 0 + 0.8) / 3.
    expect(report.macroF1).toBeCloseTo(0.48888888889, 10);
    expect(report.logLoss).toBeUndefined();
  });

  it('counts a class absent from both truth and predictions as 0 in the macro average', () => {
    const report = classificationReport([0, 1, 0, 1], [0, 1, 1, 1], undefined, ['a', 'b', 'c']);
    expect(report.perClass[2]).toEqual({ label: 'c', precision: 0, recall: 0, f1: 0, support: 0 });
    // f1_score(..., labels=[0, 1, 2], average='macro', zero_division=0) = (2/3 + 0.8 + 0) / 3
    expect(report.macroF1).toBeCloseTo((2 / 3 + 0.8) / 3, 12);
    expect(report.accuracy).toBe(0.75);
  });

  it('computes log loss like scikit-learn, clipping probabilities at 1e-15', () => {
    // log_loss(["spam", "ham", "ham", "spam"], [[.1, .9], [.9, .1], [.8, .2], [.35, .65]]) = 0.21616...
    const probabilities = [
      [0.1, 0.9],
      [0.9, 0.1],
      [0.8, 0.2],
      [0.35, 0.65],
    ];
    const report = classificationReport([1, 0, 0, 1], [1, 0, 0, 1], probabilities, ['ham', 'spam']);
    expect(report.logLoss).toBeCloseTo(0.21616187468057912, 12);

    const certainMistake = classificationReport([0], [1], [[0, 1]], ['ham', 'spam']);
    expect(certainMistake.logLoss).toBeCloseTo(-Math.log(1e-15), 10);
    const certainHit = classificationReport([0], [0], [[1, 0]], ['ham', 'spam']);
    expect(certainHit.logLoss).toBeGreaterThan(0);
    expect(certainHit.logLoss).toBe(-Math.log(1 - 1e-15));
  });

  it('gives 0 rather than NaN on empty input', () => {
    const report = classificationReport([], [], undefined, ['a', 'b']);
    expect(report.accuracy).toBe(0);
    expect(report.macroF1).toBe(0);
  });

  it('rejects mismatched lengths, bad class indices and short probability rows', () => {
    expect(() => classificationReport([0, 1], [0], undefined, ['a', 'b'])).toThrow(/2 true labels but 1/);
    expect(() => classificationReport([0, 2], [0, 1], undefined, ['a', 'b'])).toThrow(/yTrue\[1\] is 2/);
    expect(() => classificationReport([0], [0.5], undefined, ['a', 'b'])).toThrow(/yPred\[0\] is 0.5/);
    expect(() => classificationReport([0], [0], [[1]], ['a', 'b'])).toThrow(/must have 2 values/);
  });
});
