import { InvalidInputError } from '@sepal/contracts';
import { createSignature } from './model-signature';
import { MissingFeaturesError, parsePredictBody, PredictInputError } from './parse-input';

const signature = createSignature(
  ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'],
  ['Iris-setosa', 'Iris-versicolor', 'Iris-virginica'],
);
const named = { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 };
const parse = (body: unknown, maxRows = 10) => parsePredictBody(body, signature, maxRows);
const problem = (body: unknown, maxRows = 10): string => {
  try {
    parse(body, maxRows);
  } catch (error) {
    expect(error).toBeInstanceOf(PredictInputError);
    expect(error).toBeInstanceOf(InvalidInputError);
    return (error as Error).message;
  }
  throw new Error('expected a PredictInputError');
};

describe('parsePredictBody', () => {
  it('orders named features by the model, whatever the key order', () => {
    const { rows, data } = parse({
      features: { petal_width: 0.2, sepal_length: 5.1, petal_length: 1.4, sepal_width: 3.5 },
    });
    expect(rows).toBe(1);
    expect(Array.from(data)).toEqual(Array.from(new Float32Array([5.1, 3.5, 1.4, 0.2])));
  });

  it('takes arrays in model order, batches of mixed rows, bare rows and bare lists', () => {
    expect(parse({ features: [1, 2, 3, 4] }).data).toEqual(new Float32Array([1, 2, 3, 4]));
    const batch = parse({ instances: [named, [6.7, 3, 5.2, 2.3]] });
    expect(batch.rows).toBe(2);
    expect(batch.data).toEqual(new Float32Array([5.1, 3.5, 1.4, 0.2, 6.7, 3, 5.2, 2.3]));
    expect(parse(named).rows).toBe(1);
    expect(parse([1, 2, 3, 4]).rows).toBe(1);
    expect(parse([[1, 2, 3, 4], named]).rows).toBe(2);
  });

  it.each([
    [
      { instances: [named, named, { ...named, petal_width: 'x' }] },
      'instances[2].petal_width: must be a finite number (got a string "x")',
    ],
    [
      { features: { ...named, petal_width: null } },
      'features.petal_width: must be a finite number (got null)',
    ],
    [{ features: [1, 2, Infinity, 4] }, 'features[2] (petal_length): must be a finite number (got Infinity)'],
    [
      { features: [1, 2, 3, 1e39] },
      'features[3] (petal_width): 1e+39 is outside the float32 range the model takes',
    ],
    [{ features: { ...named, colour: 1 } }, 'features: unknown feature(s) colour'],
    [
      { instances: [named, [1, 2, 3]] },
      'instances[1]: expected 4 values in model order (sepal_length, sepal_width, petal_length, petal_width), got 3',
    ],
    [{ instances: [] }, 'instances: must contain at least one row'],
    [{ instances: 'all' }, 'instances: must be an array of rows, got a string "all"'],
    [
      { instances: [named, 7] },
      'instances[1]: expected an object of named features or an array of 4 numbers, got 7',
    ],
    [
      { features: named, instances: [named] },
      "body: send either 'features' (one row) or 'instances' (a batch), not both",
    ],
    [{ features: named, extra: 1 }, "extra: unknown field (expected only 'features')"],
    [
      { petal: 1 },
      "body: expected 'features' (one row), 'instances' (a batch) or the named features (sepal_length, sepal_width, petal_length, petal_width)",
    ],
    ['text', 'body: expected a JSON object, got a string "text"'],
    [null, 'body: expected a JSON object, got null'],
  ])('rejects %j', (body, message) => {
    expect(problem(body)).toBe(message);
  });

  it.each([
    [
      { features: { sepal_length: 1, sepal_width: 2, petal_length: 3 } },
      'features: missing required feature(s) petal_width',
    ],
    [{ sepal_length: 5.1 }, 'body: missing required feature(s) sepal_width, petal_length, petal_width'],
    [
      { sepal_length: 5.1, petal_length: 1.4, petal_width: 0.2, colour: 2 },
      'body: missing required feature(s) sepal_width; unknown feature(s) colour',
    ],
  ])('answers %j 422 naming the missing features', (body, message) => {
    const error = (() => {
      try {
        parse(body);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(MissingFeaturesError);
    expect((error as Error).message).toBe(message);
  });

  it('ignores unknown fields when PREDICT_UNKNOWN_FEATURES=ignore, and still requires every feature', () => {
    expect(parsePredictBody({ ...named, colour: 2 }, signature, 10, { ignoreUnknown: true }).rows).toBe(1);
    expect(() =>
      parsePredictBody({ sepal_length: 1, colour: 2 }, signature, 10, { ignoreUnknown: true }),
    ).toThrow(MissingFeaturesError);
  });

  it('requires the typed columns that had no missing value in training, lets the others be left out', () => {
    const typed = createSignature(['size', 'colour', 'weight'], ['a', 'b'], {
      columns: [
        { name: 'size', type: 'numeric', imputed: 1, missing: true },
        { name: 'colour', type: 'categorical', categories: ['red'], missing: false },
        { name: 'weight', type: 'numeric', imputed: 2 },
      ],
    });
    expect(parsePredictBody({ colour: 'red', weight: 3 }, typed, 10).rows).toBe(1);
    expect(() => parsePredictBody({ size: 1, weight: 3 }, typed, 10)).toThrow(
      'body: missing required feature(s) colour',
    );
    // A model exported before `missing` was recorded requires every feature, even one it could impute.
    expect(() => parsePredictBody({ size: 1, colour: 'red' }, typed, 10)).toThrow(
      'body: missing required feature(s) weight',
    );
    expect(() => parsePredictBody({ size: 1, colour: 'red', weight: null }, typed, 10)).toThrow(
      'weight: missing required feature(s) weight',
    );
  });

  it('rejects a batch over the maximum before reading it', () => {
    expect(problem({ instances: new Array(11).fill(named) }, 10)).toBe(
      'instances: 11 rows is more than the maximum of 10 per request (MAX_BATCH_ROWS)',
    );
    expect(parse({ instances: new Array(10).fill(named) }, 10).rows).toBe(10);
  });

  it('does not mistake prototype keys for features', () => {
    const sig = createSignature(['toString', 'b'], ['x', 'y']);
    expect(() => parsePredictBody({ features: { b: 1 } }, sig, 10)).toThrow(
      'missing required feature(s) toString',
    );
  });
});
