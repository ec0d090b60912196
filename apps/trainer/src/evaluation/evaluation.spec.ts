import { MAX_TAG_VALUE_LENGTH } from '@sepal/contracts';
import { evaluateOnTest, MISCLASSIFIED_EXAMPLES } from './evaluation';

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

describe('the misclassified tag', () => {
  const labels = ['cat', 'dog'];

  it('lists the wrong rows by id, most confident mistake first, when the rows have ids', () => {
    const probabilities = [
      [0.9, 0.1],
      [0.3, 0.7],
      [0.45, 0.55],
      [0.2, 0.8],
    ];
    const { tags } = evaluateOnTest(probabilities, [0, 0, 0, 1], labels, ['a', 'b', 'c', 'd']);
    expect(JSON.parse(tags.misclassified)).toEqual([
      { id: 'b', label: 'cat', predicted: 'dog', confidence: 0.7 },
      { id: 'c', label: 'cat', predicted: 'dog', confidence: 0.55 },
    ]);
    expect(evaluateOnTest(probabilities, [0, 0, 0, 1], labels).tags).not.toHaveProperty('misclassified');
  });

  it('keeps at most MISCLASSIFIED_EXAMPLES, and no more than fit a tag value', () => {
    const rows = 100;
    const probabilities = Array.from({ length: rows }, (_, i) => [0.2, 0.8 - i / 1000]);
    const ids = Array.from({ length: rows }, (_, i) => `${'f'.repeat(64)}${i}`);
    const kept = JSON.parse(
      evaluateOnTest(probabilities, new Array(rows).fill(0), labels, ids).tags.misclassified,
    );
    expect(kept).toHaveLength(MISCLASSIFIED_EXAMPLES);
    expect(kept[0].id).toBe(ids[0]);
    const long = ids.map((id) => id.repeat(30));
    const fitted = evaluateOnTest(probabilities, new Array(rows).fill(0), labels, long).tags.misclassified;
    expect(fitted.length).toBeLessThanOrEqual(MAX_TAG_VALUE_LENGTH);
    expect(JSON.parse(fitted).length).toBeGreaterThan(0);
  });
});
