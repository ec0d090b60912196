/** RunsService: searching runs and applying training events. */
import { randomUUID } from 'node:crypto';
import { InvalidInputError, NotFoundError } from '@sepal/contracts';
import { DATASET_VERSION, runsOnFakes } from '../../test/fakes/runs-fakes';

describe('RunsService', () => {
  describe('searchRuns', () => {
    it('hands the repository the type-checked filter and order, and pages its rows', async () => {
      const { runs, runsRepository } = runsOnFakes();
      const ids: string[] = [];
      for (let i = 0; i < 3; i++)
        ids.push((await runs.createRun({ experiment: 's', status: 'running' })).run.id);
      await runs.createRun({ experiment: 'elsewhere', status: 'running' });

      const query = { experiment: 's', limit: 2, filter: "params.epochs >= 10 AND status IN ('running')" };
      const first = await runs.searchRuns({ ...query, orderBy: 'metrics.f1 DESC' });
      expect(first.runs.map((r) => r.id)).toEqual([ids[2], ids[1]]);
      const rest = await runs.searchRuns({ ...query, pageToken: first.nextPageToken! });
      expect(rest).toEqual({ runs: [expect.objectContaining({ id: ids[0] })], nextPageToken: null });

      const [search] = runsRepository.searches;
      expect(search.experimentId).toBe((await runs.getExperiment('s')).id);
      expect(search.filter).toEqual([
        expect.objectContaining({ entity: expect.objectContaining({ kind: 'param' }), compareAs: 'number' }),
        expect.objectContaining({ operator: 'IN', compareAs: 'text', values: ['running'] }),
      ]);
      expect(search.orderBy).toEqual([expect.objectContaining({ direction: 'DESC' })]);
      expect([search.offset, search.limit, runsRepository.searches[1].offset]).toEqual([0, 2, 2]);
    });

    it('refuses an ill-typed filter with a 400 naming the comparison, before any query', async () => {
      const { runs, runsRepository } = runsOnFakes();
      const error = await runs.searchRuns({ limit: 10, filter: 'attributes.status = 1' }).catch((e) => e);
      expect(error).toBeInstanceOf(InvalidInputError);
      expect(error.message).toBe(
        "ill-typed filter: attributes.status = 1: the run status is text: quote the value, e.g. attributes.status = 'finished' at character 20",
      );
      expect(error.details).toEqual({
        position: 20,
        input: 'attributes.status = 1',
        key: 'attributes.status',
        operator: '=',
        value: '1',
      });
      expect(runsRepository.searches).toEqual([]);
    });

    it('refuses a malformed filter or order with its position', async () => {
      const { runs } = runsOnFakes();
      const filter = await runs.searchRuns({ limit: 10, filter: 'metrics.f1 >' }).catch((e) => e);
      expect(filter).toBeInstanceOf(InvalidInputError);
      expect(filter.message).toMatch(/^malformed filter: expected a number or a quoted string/);
      expect(filter.details).toEqual({ position: 12, input: 'metrics.f1 >' });
      const order = await runs.searchRuns({ limit: 10, orderBy: 'metrics.f1 SIDEWAYS' }).catch((e) => e);
      expect(order.message).toMatch(/^malformed orderBy: expected ASC, DESC/);
    });

    it('answers 404 for an unknown experiment', async () => {
      const { runs } = runsOnFakes();
      await expect(runs.searchRuns({ limit: 10, experiment: 'nope' })).rejects.toThrow(NotFoundError);
    });
  });

  describe('training events', () => {
    it('training.started creates the run as running, once per message', async () => {
      const { runs, started } = runsOnFakes();
      const runId = randomUUID();
      await runs.onTrainingStarted(started(runId, { runName: 'mlp' }), 'm-1', 'corr-1');
      await runs.onTrainingStarted(started(runId, { params: { units: 99 } }), 'm-1', 'corr-2');
      expect(await runs.getRun(runId)).toMatchObject({
        experiment: 'events',
        name: 'mlp',
        status: 'running',
        params: { units: 8 },
        correlationId: 'corr-1',
        datasetVersion: DATASET_VERSION,
      });
    });

    it('training.started brings a scheduled run to running and keeps what it knew; a finished run stays finished', async () => {
      const { runs, started } = runsOnFakes();
      const { run } = await runs.createRun({
        experiment: 'events',
        status: 'scheduled',
        name: 'planned',
        params: { lr: 0.1 },
      });
      await runs.onTrainingStarted(started(run.id, { runName: 'other' }), 'm-1', 'corr');
      expect(await runs.getRun(run.id)).toMatchObject({
        status: 'running',
        name: 'planned',
        params: { lr: 0.1, units: 8 },
        backend: 'cpu',
      });
      await runs.updateRun(run.id, { status: 'finished' });
      await runs.onTrainingStarted(started(run.id), 'm-2', 'corr');
      expect((await runs.getRun(run.id)).status).toBe('finished');
    });

    it('training.progress logs each point once, even when redelivered', async () => {
      const { runs, started, progress } = runsOnFakes();
      const runId = randomUUID();
      await runs.onTrainingStarted(started(runId), 'start', 'corr');
      for (const step of [1, 2]) {
        await runs.onTrainingProgress(progress(runId, step, { loss: 1 / step }), `p-${step}`);
        await runs.onTrainingProgress(progress(runId, step, { loss: 1 / step }), `p-${step}`);
      }
      expect((await runs.metricHistory(runId, 'loss')).map((p) => p.value)).toEqual([1, 0.5]);
    });

    it('applies progress and run.finished that overtake training.started once the run starts, with nothing retried', async () => {
      const { runs, started, progress, finished, transactions } = runsOnFakes();
      const runId = randomUUID();
      await runs.onTrainingProgress(progress(runId, 2, { loss: 0.2 }), 'p-2');
      await runs.onTrainingProgress(progress(runId, 1, { loss: 0.3 }), 'p-1');
      await runs.onRunFinished(finished(runId, { metrics: { accuracy: 0.9 } }), 'done');
      await runs.onTrainingProgress(progress(runId, 1, { loss: 0.3 }), 'p-1'); // a redelivery is claimed once
      expect(transactions.rolledBack).toBe(0);
      await expect(runs.getRun(runId)).rejects.toThrow(NotFoundError);
      await runs.onTrainingStarted(started(runId), 'start', 'corr');
      expect(await runs.getRun(runId)).toMatchObject({
        status: 'finished',
        metrics: { loss: 0.2, accuracy: 0.9 },
      });
      expect((await runs.metricHistory(runId, 'loss')).map((p) => p.value)).toEqual([0.3, 0.2]);
      // The parked events were applied once: a later redelivery of the start adds nothing.
      await runs.onTrainingStarted(started(runId), 'start', 'corr');
      expect(await runs.metricHistory(runId, 'loss')).toHaveLength(2);
    });

    it('a trial may start before its parent run', async () => {
      const { runs, started } = runsOnFakes();
      const parent = randomUUID();
      const child = randomUUID();
      await runs.onTrainingStarted(started(child, { parentRunId: parent }), 'child', 'corr');
      await runs.onTrainingStarted(started(parent), 'parent', 'corr');
      expect((await runs.getRun(child)).parentRunId).toBe(parent);
      expect((await runs.getRun(parent)).childrenCount).toBe(1);
    });

    it('run.finished records the final status, tags and metrics at the last step', async () => {
      const { runs, started, progress, finished } = runsOnFakes();
      const runId = randomUUID();
      await runs.onTrainingStarted(started(runId), 'start', 'corr');
      await runs.onTrainingProgress(progress(runId, 3, { loss: 0.2 }), 'p-3');
      await runs.onRunFinished(
        finished(runId, { metrics: { accuracy: 0.97 }, tags: { selected: 'true' } }),
        'done',
      );
      const run = await runs.getRun(runId);
      expect(run).toMatchObject({
        status: 'finished',
        endTime: '2025-02-01T01:00:00.000Z',
        tags: { selected: 'true' },
        metrics: { loss: 0.2, accuracy: 0.97 },
      });
      expect((await runs.metricHistory(runId, 'accuracy')).map((p) => p.step)).toEqual([3]);
    });

    it('run.finished with a step keeps its final metrics latest when progress before it is applied after it', async () => {
      const { runs, started, progress, finished } = runsOnFakes();
      const runId = randomUUID();
      await runs.onTrainingStarted(started(runId), 'start', 'corr');
      await runs.onTrainingProgress(progress(runId, 1, { val_rmse: 0.5 }), 'round-1');
      // The finish (best round: 0.5) overtakes the last round's progress (0.6).
      await runs.onRunFinished({ ...finished(runId, { metrics: { val_rmse: 0.5 } }), step: 3 }, 'done');
      await runs.onTrainingProgress(progress(runId, 2, { val_rmse: 0.6 }), 'round-2');
      expect((await runs.getRun(runId)).metrics.val_rmse).toBe(0.5);
      expect((await runs.metricHistory(runId, 'val_rmse')).map((p) => [p.step, p.value])).toEqual([
        [1, 0.5],
        [2, 0.6],
        [3, 0.5],
      ]);
    });
  });
});
