import { classificationReport } from '@sepal/ml';
import type { ConfusionCount, ErrorSums } from './prediction-log.repository';

/** One model version's live quality over the window: the metric's value and the labelled rows it rests on. */
export interface LiveQuality {
  model: string;
  version: number;
  metric: 'accuracy' | 'macro_f1' | 'rmse' | 'mae';
  value: number;
  labelled: number;
}

/**
 * Accuracy and macro-F1 per classifier version (over the classes seen in its window, predicted or true), RMSE and MAE
 * per regressor version, from the labelled predictions' confusion counts and error sums.
 */
export function liveQuality(
  confusion: readonly ConfusionCount[],
  errors: readonly ErrorSums[],
): LiveQuality[] {
  const byVersion = new Map<string, ConfusionCount[]>();
  for (const count of confusion) {
    const key = `${count.model}\u0000${count.version}`;
    const group = byVersion.get(key);
    if (group) group.push(count);
    else byVersion.set(key, [count]);
  }
  const out: LiveQuality[] = [];
  for (const counts of byVersion.values()) {
    const { model, version } = counts[0];
    const labels = [...new Set(counts.flatMap((c) => [c.actual, c.predicted]))].sort();
    const index = new Map(labels.map((label, i) => [label, i]));
    const yTrue: number[] = [];
    const yPred: number[] = [];
    for (const c of counts) {
      for (let i = 0; i < c.count; i++) {
        yTrue.push(index.get(c.actual)!);
        yPred.push(index.get(c.predicted)!);
      }
    }
    const report = classificationReport(yTrue, yPred, undefined, labels);
    out.push({ model, version, metric: 'accuracy', value: report.accuracy, labelled: yTrue.length });
    out.push({ model, version, metric: 'macro_f1', value: report.macroF1, labelled: yTrue.length });
  }
  for (const sums of errors) {
    if (sums.count === 0) continue;
    const { model, version, count } = sums;
    out.push({ model, version, metric: 'rmse', value: Math.sqrt(sums.squared / count), labelled: count });
    out.push({ model, version, metric: 'mae', value: sums.absolute / count, labelled: count });
  }
  return out;
}
