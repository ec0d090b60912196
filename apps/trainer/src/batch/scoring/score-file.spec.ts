import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tensor } from 'onnxruntime-node';
import type { BatchSignature } from './batch-signature';
import { scoreCsvFile, ScoringStopped, type ScoringSession } from './score-file';

/** A two-feature regressor whose "model" answers the sum of the features, so the output is checked by arithmetic. */
const SIGNATURE: BatchSignature = {
  featureNames: ['a', 'b'],
  labels: [],
  task: 'regression',
  columns: [
    { name: 'a', type: 'numeric', slot: 0, nullable: false },
    { name: 'b', type: 'numeric', slot: 1, nullable: false },
  ],
  numericCount: 2,
  categoricalCount: 0,
};

const sumSession = (): ScoringSession & { runs: number } => {
  const session = {
    runs: 0,
    run: async (feeds: Record<string, Tensor>) => {
      session.runs++;
      const x = feeds.features.data as Float32Array;
      const rows = x.length / 2;
      const value = new Float32Array(rows).map((_, i) => x[2 * i] + x[2 * i + 1]);
      return { value: new Tensor('float32', value, [rows, 1]) };
    },
  };
  return session as unknown as ScoringSession & { runs: number };
};

describe('scoreCsvFile', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sepal-score-'));
    const rows = Array.from({ length: 100 }, (_, i) => `${i},1`);
    await writeFile(join(dir, 'in.csv'), `a,b\n${rows.join('\n')}\n`);
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const options = (extra: object = {}) => ({
    inputPath: join(dir, 'in.csv'),
    outputPath: join(dir, 'out.csv'),
    model: { name: 'Sum', version: 3 },
    chunkRows: 10,
    maxRows: 1000,
    maxRowsSetting: 'TRAINER_BATCH_MAX_ROWS',
    ...extra,
  });

  it('scores every row, one ONNX run per chunk, with the model version on each', async () => {
    const session = sumSession();
    const result = await scoreCsvFile(session, SIGNATURE, options());
    expect(result).toMatchObject({ rows: 100, errorRows: 0 });
    expect(session.runs).toBe(10);
    const lines = (await readFile(join(dir, 'out.csv'), 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(101);
    expect(lines[6].split(',').slice(0, 3)).toEqual(['5', '1', '6']);
    expect(lines[6]).toContain('Sum');
  });

  it('stops between chunks when asked (a cancelled job), after the chunk it was scoring', async () => {
    const session = sumSession();
    let chunks = 0;
    const stopping = scoreCsvFile(session, SIGNATURE, options({ shouldStop: () => ++chunks === 3 }));
    await expect(stopping).rejects.toThrow(ScoringStopped);
    await expect(stopping).rejects.toThrow('scoring stopped after 30 rows: the job was cancelled');
    expect(session.runs).toBe(3);
  });
});
