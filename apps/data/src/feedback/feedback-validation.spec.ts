import { UnprocessableError } from '@sepal/contracts';
import { validateFeedback } from './feedback-validation';

const schema = {
  features: ['a', 'b'],
  target: 'y',
  task: 'classification' as const,
  labels: ['x', 'z'],
};
const ranges = [
  { min: 0, max: 10 },
  { min: 1, max: 2 },
];

describe('validateFeedback', () => {
  it('orders named features by the schema and encodes the class', () => {
    expect(validateFeedback(schema, { b: 1.5, a: 3 }, 'z', ranges)).toEqual({
      features: [3, 1.5],
      label: 1,
      className: 'z',
      flags: [],
    });
  });

  it('takes strings for categorical columns and null for missing values, and a number for a regression target', () => {
    const typed = {
      ...schema,
      task: 'regression' as const,
      labels: [],
      columns: [
        { name: 'a', type: 'numeric' as const },
        { name: 'b', type: 'categorical' as const, encoding: 'one-hot' as const },
      ],
    };
    expect(validateFeedback(typed, { a: null, b: 'red' }, 4.5, [null, null])).toEqual({
      features: [null, 'red'],
      label: 4.5,
      className: '4.5',
      flags: [],
    });
    expect(() => validateFeedback(typed, ['1', 'red'], 4.5, [])).toThrow(/feature 'a' is numeric/);
    expect(() => validateFeedback(typed, [1, 'red'], 'high', [])).toThrow(/'high' is not a number/);
  });

  it('accepts but flags values far outside the training range', () => {
    const result = validateFeedback(schema, [16, 1.5], 'x', ranges);
    expect(result.flags).toEqual(['a=16 is far outside the training range [0, 10]']);
  });

  it.each([
    [{ a: 1 }, 'x', /missing feature\(s\): b/],
    [{ a: 1, b: 1, c: 2 }, 'x', /unknown feature\(s\): c/],
    [[1, 2, 3], 'x', /expected 2 feature values/],
    [[1, 2], 'nope', /unknown class 'nope'/],
  ])('rejects %j / %s', (features, label, message) => {
    expect(() => validateFeedback(schema, features, label, ranges)).toThrow(UnprocessableError);
    expect(() => validateFeedback(schema, features, label, ranges)).toThrow(message);
  });
});

describe('feedback for an image dataset', () => {
  it('is refused: an image row needs pixels stored by an import', () => {
    const schema = {
      features: ['image'],
      target: 'label',
      task: 'classification' as const,
      labels: ['cat'],
      columns: [{ name: 'image', type: 'categorical' as const }],
      image: { height: 2, width: 2, channels: 1 as const, resize: 'stretch' as const },
    };
    expect(() => validateFeedback(schema, ['f'.repeat(64)], 'cat', [null])).toThrow(
      'this is an image dataset',
    );
  });
});
