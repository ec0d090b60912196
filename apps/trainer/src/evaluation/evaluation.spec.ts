import { evaluateOnTest } from './evaluation';

describe('evaluateOnTest', () => {
  it('flattens the report into test_* metrics and the confusion matrix into a JSON tag', () => {
    const probabilities = [
      [0.9, 0.05, 0.05],
      [0.1, 0.8, 0.1],
      [0.1, 0.6, 0.3],
      [0.2, 0.2, 0.6],
    ];
    const { metrics, tags } = evaluateOnTest(
      probabilities,
      [0, 1, 2, 2],
      ['Iris-setosa', 'Iris-versicolor', 'Iris-virginica'],
    );
    expect(metrics.test_accuracy).toBe(0.75);
    expect(metrics['test_precision_Iris_versicolor']).toBe(0.5);
    expect(metrics['test_recall_Iris_virginica']).toBe(0.5);
    expect(metrics.test_log_loss).toBeGreaterThan(0);
    expect(JSON.parse(tags.confusion_matrix).matrix).toEqual([
      [1, 0, 0],
      [0, 1, 0],
      [0, 1, 1],
    ]);
  });
});

describe('the confusion_matrix tag', () => {
  it('is left out when its JSON is longer than a tag value may be (cut, it would not parse)', () => {
    const labels = Array.from({ length: 60 }, (_, i) => `class-${i}`);
    const probabilities = labels.map((_, i) => labels.map((__, k) => (k === i ? 0.9 : 0.1 / 59)));
    const { metrics, tags } = evaluateOnTest(
      probabilities,
      labels.map((_, i) => i),
      labels,
    );
    expect(tags).toEqual({});
    expect(metrics.test_accuracy).toBe(1);
  });
});
