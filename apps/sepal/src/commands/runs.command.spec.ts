import { featureImportanceOf } from '@sepal/contracts';
import { importanceLines } from './runs.command';

describe('sepal runs show: feature importance', () => {
  it('prints a tree run’s importance largest first, as bars', () => {
    const featureImportance = featureImportanceOf({
      val_accuracy: 0.9,
      importance_sepal_width: 0.05,
      importance_petal_length: 0.55,
      importance_petal_width: 0.4,
    });
    expect(importanceLines({ featureImportance })).toEqual([
      'feature importance (gain):',
      `  petal_length  0.550  ${'#'.repeat(22)}`,
      `  petal_width   0.400  ${'#'.repeat(16)}`,
      `  sepal_width   0.050  ##`,
    ]);
  });

  it('prints nothing for a run without importance (a dense network)', () => {
    expect(importanceLines({ featureImportance: featureImportanceOf({ val_accuracy: 0.9 }) })).toEqual([]);
    expect(importanceLines({})).toEqual([]);
  });
});
