import { datasetOfDefaultModel, defaultModelName } from './model-naming';

describe('model naming', () => {
  it.each([
    ['iris', 'IrisModel'],
    ['wine-quality-red', 'WineQualityRedModel'],
  ])('names the model of %s %s and back', (dataset, model) => {
    expect(defaultModelName(dataset)).toBe(model);
    expect(datasetOfDefaultModel(model)).toBe(dataset);
  });
});
