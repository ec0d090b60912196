/** The targets for `npm run bench:quality`, checked on one run's figures and printed (never asserted). */

/** A row of the benchmark's tables: a model and its figures. */
interface Scored {
  model: string;
  seconds: number;
}
interface Classified extends Scored {
  accuracy: number;
}
interface Regressed extends Scored {
  rmse: number;
}

/** scikit-learn's model of the same family as a Sepal family, for the training-time ratio. */
export const SKLEARN_FAMILY: Record<string, string> = {
  'Sepal dense': 'sklearn MLP',
  'Sepal forest': 'sklearn RandomForest',
  'Sepal gbdt': 'sklearn HistGradientBoosting',
};

/** Sepal's seconds over scikit-learn's for the same family in `rows` (the target is at most 2). */
export function timeRatio(row: Scored, rows: Scored[]): string {
  const family = SKLEARN_FAMILY[row.model];
  const sklearn = family ? rows.find((other) => other.model.startsWith(family)) : undefined;
  return sklearn ? `${(row.seconds / sklearn.seconds).toFixed(2)}x sklearn` : '';
}

/** What the issue asks of each dataset, checked on this run's figures (printed, never asserted). */
export const targets: string[] = [];
function target(what: string, met: boolean, figures: string): void {
  targets.push(`  ${met ? 'met   ' : 'MISSED'} ${what}: ${figures}`);
}

/** Wine white: at least RandomForest(300); red: at least the best of it and HistGradientBoosting; Iris: 1.000. */
export function classificationTargets(dataset: string, rows: Classified[]): void {
  const sepal = rows.filter((row) => row.model.startsWith('Sepal') && row.model !== 'Sepal default grid');
  const best = [...sepal].sort((a, b) => b.accuracy - a.accuracy)[0];
  const sklearn = (name: string) => rows.find((row) => row.model.startsWith(name));
  const forest = sklearn('sklearn RandomForest');
  const boosting = sklearn('sklearn HistGradientBoosting');
  const shown = (row: Classified) => `${row.model} ${row.accuracy.toFixed(3)}`;
  if (dataset === 'iris') target('Iris stays at 1.000', best.accuracy === 1, shown(best));
  if (dataset === 'wine-quality-white' && forest) {
    target(
      'Wine white ≥ sklearn RandomForest(300)',
      best.accuracy >= forest.accuracy,
      `${shown(best)} vs ${shown(forest)}`,
    );
  }
  if (dataset === 'wine-quality-red' && forest && boosting) {
    const top = forest.accuracy >= boosting.accuracy ? forest : boosting;
    target(
      'Wine red ≥ best of sklearn RandomForest and HistGradientBoosting',
      best.accuracy >= top.accuracy,
      `${shown(best)} vs ${shown(top)}`,
    );
  }
  for (const row of sepal) {
    const family = SKLEARN_FAMILY[row.model];
    const other = family ? sklearn(family) : undefined;
    if (other && row.model !== 'Sepal dense') {
      target(
        `${dataset} ${row.model} training time ≤ 2x ${family}`,
        row.seconds <= 2 * other.seconds,
        timeRatio(row, rows),
      );
    }
  }
}

/** Wine red + white regression: the best Sepal family's RMSE at most RandomForestRegressor(300)'s. */
export function regressionTargets(rows: Regressed[]): void {
  const sepal = rows.filter((row) => row.model.startsWith('Sepal')).sort((a, b) => a.rmse - b.rmse)[0];
  const forest = rows.find((row) => row.model.startsWith('sklearn RandomForest'));
  if (forest) {
    target(
      'Wine red+white regression RMSE ≤ sklearn RandomForest(300)',
      sepal.rmse <= forest.rmse,
      `${sepal.model} ${sepal.rmse.toFixed(3)} vs ${forest.model} ${forest.rmse.toFixed(3)}`,
    );
    for (const row of rows.filter((r) => r.model === 'Sepal forest' || r.model === 'Sepal gbdt')) {
      const family = SKLEARN_FAMILY[row.model];
      const other = rows.find((r) => r.model.startsWith(family));
      if (other) {
        target(
          `regression ${row.model} training time ≤ 2x ${family}`,
          row.seconds <= 2 * other.seconds,
          timeRatio(row, rows),
        );
      }
    }
  }
}
