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
      flags: [],
    });
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
