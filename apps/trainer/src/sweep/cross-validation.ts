import { createRng } from '@sepal/ml';
import type { SweepData, TrialOutcome, TrialResult, TrialRun } from './sweep-types';
import { trainTrial } from './train-trial';

/** The sweep's fit and validation rows as one training set, in that order (the refit's, and the folds' rows). */
export function allTrainRows(sweep: SweepData): SweepData {
  return {
    ...sweep,
    xFit: [...sweep.xFit, ...sweep.xVal],
    yFit: [...sweep.yFit, ...sweep.yVal],
    ...(sweep.trees ? { trees: { ...sweep.trees, xFit: [...sweep.trees.xFit, ...sweep.trees.xVal] } } : {}),
    ...(sweep.images
      ? { images: { ...sweep.images, xFit: concatBytes(sweep.images.xFit, sweep.images.xVal) } }
      : {}),
  };
}

function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/**
 * The fold (0..folds-1) of each row, stratified: within each stratum (a class, or a regression target's quantile bin)
 * the rows are shuffled by the seed and dealt round the folds, the deal going on from stratum to stratum so that the
 * folds differ in size by one row at most.
 */
export function stratifiedFolds(strata: readonly number[], folds: number, seed: number): number[] {
  if (!Number.isInteger(folds) || folds < 2)
    throw new Error(`stratifiedFolds: folds must be >= 2, got ${folds}`);
  const rng = createRng(seed);
  const byStratum = new Map<number, number[]>();
  strata.forEach((stratum, row) => byStratum.set(stratum, [...(byStratum.get(stratum) ?? []), row]));
  const foldOf = new Array<number>(strata.length).fill(0);
  let dealt = 0;
  for (const stratum of [...byStratum.keys()].sort((a, b) => a - b)) {
    const rows = byStratum.get(stratum) as number[];
    for (let i = rows.length - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [rows[i], rows[j]] = [rows[j], rows[i]];
    }
    for (const row of rows) foldOf[row] = dealt++ % folds;
  }
  return foldOf;
}

/** Fold `fold` of a cross-validated sweep: its rows held out, the other folds' rows fitted on. */
export function foldSweep(sweep: SweepData, fold: number): SweepData {
  const cv = sweep.crossValidation;
  if (cv === undefined) throw new Error('foldSweep: the sweep is not cross-validated');
  const all = allTrainRows(sweep);
  const pick = <T>(rows: readonly T[], held: boolean) =>
    rows.filter((_, row) => (cv.foldOf[row] === fold) === held);
  const { crossValidation: _cv, ...rest } = all;
  return {
    ...rest,
    xFit: pick(all.xFit, false),
    yFit: pick(all.yFit, false),
    xVal: pick(all.xFit, true),
    yVal: pick(all.yFit, true),
    ...(all.trees
      ? { trees: { ...all.trees, xFit: pick(all.trees.xFit, false), xVal: pick(all.trees.xFit, true) } }
      : {}),
  };
}

const mean = (values: readonly number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;

/**
 * A trial scored by k-fold cross-validation: trained once per fold on the other folds' rows, its validation figures
 * the means over the folds (a regressor's RMSE too, as scikit-learn averages its scores), its best epoch or round the
 * rounded mean (what the refit trains for). The first fold's model is kept (it reports the epochs live and answers for
 * a retry), and so are its epochs run and its per-round history; any failing fold fails the trial.
 */
export async function crossValidateTrial(run: TrialRun): Promise<TrialOutcome> {
  const { data: sweep, hooks } = run;
  const folds = sweep.crossValidation?.folds ?? 0;
  if (folds < 2) throw new Error('crossValidateTrial: the sweep is not cross-validated');
  const outcomes: TrialOutcome[] = [];
  try {
    for (let fold = 0; fold < folds; fold++) {
      const quiet = { signal: hooks.signal, jobId: hooks.jobId };
      const outcome = await trainTrial({
        ...run,
        data: foldSweep(sweep, fold),
        hooks: fold === 0 ? hooks : quiet,
      });
      outcomes.push(outcome);
      if (outcome.result.status !== 'finished') {
        const error = `fold ${fold + 1} of ${folds}: ${outcome.result.error ?? 'failed'}`;
        return { result: { ...outcome.result, error, folds }, trained: null };
      }
    }
  } finally {
    outcomes.slice(1).forEach(({ trained }) => trained?.dispose());
    if (outcomes.some(({ result }) => result.status !== 'finished')) outcomes[0]?.trained?.dispose();
  }
  const results = outcomes.map(({ result }) => result);
  const [first] = results;
  const of = (pick: (result: TrialResult) => number) => mean(results.map(pick));
  const regression = first.valRmse !== undefined;
  const importance = first.featureImportance;
  return {
    result: {
      ...first,
      valAccuracy: of((r) => r.valAccuracy),
      valLoss: of((r) => r.valLoss),
      ...(regression ? { valRmse: of((r) => r.valRmse as number) } : {}),
      ...(first.valRegression
        ? {
            valRegression: {
              mae: of((r) => r.valRegression?.mae ?? 0),
              r2: of((r) => r.valRegression?.r2 ?? 0),
              withinTolerance: of((r) => r.valRegression?.withinTolerance ?? 0),
            },
          }
        : {}),
      bestEpoch: Math.max(1, Math.round(of((r) => r.bestEpoch))),
      // The first fold's, as the per-round history the trial's run shows is the first fold's.
      epochsRun: first.epochsRun,
      parameterCount: Math.round(of((r) => r.parameterCount)),
      stoppedEarly: results.some((r) => r.stoppedEarly),
      seconds: results.reduce((sum, r) => sum + r.seconds, 0),
      ...(importance
        ? { featureImportance: importance.map((_, k) => of((r) => r.featureImportance?.[k] ?? 0)) }
        : {}),
      folds,
    },
    trained: outcomes[0].trained,
  };
}
