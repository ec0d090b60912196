/**
 * scikit-learn's side of `npm run bench:quality`: its models trained by /usr/bin/python3 on the same exported train
 * split as Sepal's, in the same run (one thread: OMP_NUM_THREADS=1, n_jobs=1, random_state=42), and the Wine Quality
 * red + white CSV with `colour` as a categorical column.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const SYSTEM_PYTHON = '/usr/bin/python3';

/** A split's rows as the data service exports them. */
export interface Split {
  features: number[][];
  labels: number[];
}

/** A model's test figures: accuracy (classification), training seconds and pickled size. */
export interface SklearnRow {
  model: string;
  accuracy: number;
  seconds: number;
  bytes: number | null;
  note: string;
}

export interface RegressionRow {
  model: string;
  rmse: number;
  mae: number;
  r2: number;
  seconds: number;
}

export function sklearnVersion(): string {
  const answer = spawnSync(SYSTEM_PYTHON, ['-c', 'import sklearn; print(sklearn.__version__)'], {
    encoding: 'utf8',
  });
  return answer.status === 0 ? answer.stdout.trim() : 'absent';
}

export function sklearnAvailable(): boolean {
  return spawnSync(SYSTEM_PYTHON, ['-c', 'import sklearn'], { stdio: 'ignore' }).status === 0;
}

const SKLEARN_SCRIPT = `
import csv, json, pickle, sys, time
import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

def load(path):
    rows = np.loadtxt(path, delimiter=',', ndmin=2)
    return rows[:, :-1], rows[:, -1].astype(int)

x_train, y_train = load(sys.argv[1])
x_test, y_test = load(sys.argv[2])
models = [
    ('sklearn RandomForest(300)', RandomForestClassifier(n_estimators=300, random_state=42, n_jobs=1)),
    ('sklearn HistGradientBoosting', HistGradientBoostingClassifier(random_state=42)),
    ('sklearn MLP (32), standardised', make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(32,), max_iter=1000, random_state=42))),
]
out = []
for name, model in models:
    start = time.perf_counter()
    model.fit(x_train, y_train)
    seconds = time.perf_counter() - start
    out.append({'model': name, 'accuracy': float((model.predict(x_test) == y_test).mean()), 'seconds': seconds, 'bytes': len(pickle.dumps(model))})
print(json.dumps(out))
`;

export function sklearnRows(directory: string, train: Split, test: Split): SklearnRow[] {
  const write = (name: string, split: Split) => {
    const file = join(directory, name);
    writeFileSync(
      file,
      split.features.map((row, i) => [...row, split.labels[i]].join(',')).join('\n') + '\n',
    );
    return file;
  };
  const output = execFileSync(
    SYSTEM_PYTHON,
    ['-c', SKLEARN_SCRIPT, write('train.csv', train), write('test.csv', test)],
    // One thread, as Sepal's learners use one core each: OpenMP spinning on a busy 2-core machine slowed
    // HistGradientBoosting down a hundredfold.
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, OMP_NUM_THREADS: '1' } },
  );
  return (JSON.parse(output) as Omit<SklearnRow, 'note'>[]).map((row) => ({
    ...row,
    note: 'same train split, whole',
  }));
}

/** Wine Quality red and white as one CSV: the physico-chemical columns, `colour` (categorical) and `quality`. */
export function wineColourCsv(): string {
  const lines: string[] = [];
  for (const colour of ['red', 'white']) {
    const text = readFileSync(join(__dirname, `../../data/wine-quality/winequality-${colour}.csv`), 'utf8');
    const [header, ...rows] = text.trim().split(/\r?\n/);
    if (lines.length === 0) {
      const names = header.split(';').map((name) => name.replace(/"/g, '').replace(/ /g, '_'));
      lines.push([...names.slice(0, -1), 'colour', names.at(-1)].join(','));
    }
    for (const row of rows) {
      const cells = row.split(';');
      lines.push([...cells.slice(0, -1), colour, cells.at(-1)].join(','));
    }
  }
  return `${lines.join('\n')}\n`;
}

const SKLEARN_REGRESSION_SCRIPT = `
import json, sys, time
import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestRegressor

def load(path):
    rows = np.loadtxt(path, delimiter=',', ndmin=2)
    return rows[:, :-1], rows[:, -1]

x_train, y_train = load(sys.argv[1])
x_test, y_test = load(sys.argv[2])
out = []
for name, model in [
    ('sklearn HistGradientBoosting', HistGradientBoostingRegressor(random_state=42)),
    ('sklearn RandomForest(300)', RandomForestRegressor(n_estimators=300, random_state=42, n_jobs=1)),
]:
    start = time.perf_counter()
    model.fit(x_train, y_train)
    seconds = time.perf_counter() - start
    error = model.predict(x_test) - y_test
    out.append({'model': name, 'rmse': float(np.sqrt((error ** 2).mean())), 'mae': float(np.abs(error).mean()),
                'r2': float(1 - (error ** 2).sum() / ((y_test - y_test.mean()) ** 2).sum()), 'seconds': seconds})
print(json.dumps(out))
`;

/** HistGradientBoostingRegressor and RandomForestRegressor(300) on the train split, `colour` one-hot (red = 1). */
export function sklearnRegressionRows(
  directory: string,
  train: Split,
  test: Split,
  colour: number,
): RegressionRow[] {
  const write = (name: string, split: Split) => {
    const file = join(directory, name);
    const numeric = (row: (number | string)[]) =>
      row.map((cell, i) => (i === colour ? (cell === 'red' ? 1 : 0) : cell));
    writeFileSync(
      file,
      split.features.map((row, i) => [...numeric(row), split.labels[i]].join(',')).join('\n') + '\n',
    );
    return file;
  };
  const output = execFileSync(
    SYSTEM_PYTHON,
    [
      '-c',
      SKLEARN_REGRESSION_SCRIPT,
      write('train-regression.csv', train),
      write('test-regression.csv', test),
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, OMP_NUM_THREADS: '1' } },
  );
  return JSON.parse(output) as RegressionRow[];
}
