import { Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import {
  ConflictError,
  InvalidInputError,
  NotFoundError,
  RunFinished,
  TrainingStarted,
} from '@sepal/contracts';
import { registryOnFakes } from '../../test/fakes/registry-fakes';

const DATASET_VERSION = 'd'.repeat(64);

function setup() {
  const fakes = registryOnFakes();
  const started = (runId: string, overrides: Partial<TrainingStarted> = {}): TrainingStarted => ({
    runId,
    parentRunId: null,
    experiment: 'events',
    dataset: 'iris',
    datasetVersion: DATASET_VERSION,
    params: { units: 8 },
    tags: {},
    backend: 'cpu',
    startedAt: '2025-02-01T00:00:00.000Z',
    ...overrides,
  });
  const finished = (runId: string, overrides: Partial<RunFinished> = {}): RunFinished => ({
    runId,
    status: 'finished',
    metrics: {},
    tags: {},
    endedAt: '2025-02-01T01:00:00.000Z',
    ...overrides,
  });
  const progress = (runId: string, step: number, metrics: Record<string, number>) => ({
    runId,
    step,
    metrics,
    timestamp: new Date(Date.UTC(2025, 1, 1, 0, step)).toISOString(),
  });
  return { ...fakes, started, finished, progress };
}

describe('RunsService', () => {
  describe('limits on tags and params (REGISTRY_MAX_TAGS, REGISTRY_MAX_PARAMS)', () => {
    const many = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 'v']));

    it('takes exactly the default limits and refuses one more with a 400 naming the setting', async () => {
      const { runs } = setup();
      await runs.createExperiment('at-limit', many(100));
      await expect(runs.createExperiment('over-limit', many(101))).rejects.toThrow(
        new InvalidInputError('tags: 101 entries, more than REGISTRY_MAX_TAGS (100)'),
      );
      await expect(runs.getExperiment('over-limit')).rejects.toThrow(NotFoundError);
      await runs.createRun({ experiment: 'at-limit', status: 'running', params: many(500), tags: many(100) });
      await expect(
        runs.createRun({ experiment: 'at-limit', status: 'running', params: many(501) }),
      ).rejects.toThrow(new InvalidInputError('params: 501 entries, more than REGISTRY_MAX_PARAMS (500)'));
      await expect(
        runs.createRun({ experiment: 'at-limit', status: 'running', tags: many(101) }),
      ).rejects.toThrow(/REGISTRY_MAX_TAGS \(100\)/);
    });

    it("counts a run's tags after an update is merged, not the update alone", async () => {
      const { runs } = setup();
      const { run } = await runs.createRun({ experiment: 'merge', status: 'running', tags: many(60) });
      // Overwriting existing keys does not add to the count.
      await runs.updateRun(run.id, { tags: many(100) });
      const extra = Object.fromEntries(Array.from({ length: 41 }, (_, i) => [`x${i}`, 'v']));
      await expect(runs.updateRun(run.id, { tags: extra })).rejects.toThrow(
        new InvalidInputError('tags: 141 entries, more than REGISTRY_MAX_TAGS (100)'),
      );
      expect(Object.keys((await runs.getRun(run.id)).tags)).toHaveLength(100);
    });

    describe('on training events (refused, so dead-lettered with the reason, and nothing written)', () => {
      it('training.started with too many tags or params: no run, no experiment, the message not claimed', async () => {
        const { runs, started, transactions } = setup();
        const runId = randomUUID();
        await expect(
          runs.onTrainingStarted(started(runId, { tags: many(101) }), 'm-1', 'corr'),
        ).rejects.toThrow(new InvalidInputError('tags: 101 entries, more than REGISTRY_MAX_TAGS (100)'));
        await expect(
          runs.onTrainingStarted(started(runId, { params: many(501) }), 'm-2', 'corr'),
        ).rejects.toThrow(new InvalidInputError('params: 501 entries, more than REGISTRY_MAX_PARAMS (500)'));
        expect(transactions.committed).toBe(0);
        await expect(runs.getRun(runId)).rejects.toThrow(NotFoundError);
        await expect(runs.getExperiment('events')).rejects.toThrow(NotFoundError);
        // The claims were rolled back with the rest: the same messages within the limits are applied.
        await runs.onTrainingStarted(started(runId, { tags: many(100) }), 'm-1', 'corr');
        // The second start's params are merged with the first's ({ units: 8 }).
        await runs.onTrainingStarted(started(runId, { params: many(499) }), 'm-2', 'corr');
        const run = await runs.getRun(runId);
        expect([Object.keys(run.tags).length, Object.keys(run.params).length]).toEqual([100, 500]);
      });

      it("training.started counts a REST-created run's tags and params with the event's", async () => {
        const { runs, started } = setup();
        const { run } = await runs.createRun({
          experiment: 'events',
          status: 'scheduled',
          tags: many(100),
          params: many(500),
        });
        await expect(
          runs.onTrainingStarted(started(run.id, { params: {}, tags: { extra: 'v' } }), 'm-1', 'corr'),
        ).rejects.toThrow(new InvalidInputError('tags: 101 entries, more than REGISTRY_MAX_TAGS (100)'));
        await expect(
          runs.onTrainingStarted(started(run.id, { params: { extra: 1 } }), 'm-2', 'corr'),
        ).rejects.toThrow(new InvalidInputError('params: 501 entries, more than REGISTRY_MAX_PARAMS (500)'));
        expect(await runs.getRun(run.id)).toMatchObject({ status: 'scheduled', backend: null });
        // Keys the run already has do not add to the count.
        await runs.onTrainingStarted(
          started(run.id, { params: { k0: 1 }, tags: { k1: 'w' } }),
          'm-3',
          'corr',
        );
        expect((await runs.getRun(run.id)).status).toBe('running');
      });

      it("run.finished counts the run's tags after the merge; over the limit nothing of it is written", async () => {
        const { runs, started, finished } = setup();
        const runId = randomUUID();
        await runs.onTrainingStarted(started(runId, { tags: many(60) }), 'start', 'corr');
        const extra = Object.fromEntries(Array.from({ length: 41 }, (_, i) => [`x${i}`, 'v']));
        await expect(
          runs.onRunFinished(finished(runId, { tags: extra, metrics: { accuracy: 0.9 } }), 'done'),
        ).rejects.toThrow(new InvalidInputError('tags: 101 entries, more than REGISTRY_MAX_TAGS (100)'));
        await expect(runs.onRunFinished(finished(runId, { tags: many(101) }), 'done-2')).rejects.toThrow(
          /REGISTRY_MAX_TAGS \(100\)/,
        );
        const run = await runs.getRun(runId);
        expect(run).toMatchObject({ status: 'running', endTime: null, metrics: {} });
        expect(Object.keys(run.tags)).toHaveLength(60);
        // Not claimed: the same message within the limit is applied.
        await runs.onRunFinished(finished(runId, { tags: many(100), metrics: { accuracy: 0.9 } }), 'done');
        expect(await runs.getRun(runId)).toMatchObject({ status: 'finished', metrics: { accuracy: 0.9 } });
      });

      it('run.finished before its run started: refused on arrival with too many tags of its own, never parked', async () => {
        const { runs, started, finished } = setup();
        const runId = randomUUID();
        await expect(runs.onRunFinished(finished(runId, { tags: many(101) }), 'done')).rejects.toThrow(
          /REGISTRY_MAX_TAGS \(100\)/,
        );
        await runs.onTrainingStarted(started(runId), 'start', 'corr');
        expect((await runs.getRun(runId)).status).toBe('running');
      });

      it('a parked run.finished that would go over once merged is applied without its tags, not refusing the start', async () => {
        const { runs, started, finished } = setup();
        const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
        const runId = randomUUID();
        const extra = Object.fromEntries(Array.from({ length: 41 }, (_, i) => [`x${i}`, 'v']));
        await runs.onRunFinished(finished(runId, { tags: extra, metrics: { accuracy: 0.9 } }), 'done');
        await runs.onTrainingStarted(started(runId, { tags: many(60) }), 'start', 'corr');
        const run = await runs.getRun(runId);
        expect(run).toMatchObject({ status: 'finished', metrics: { accuracy: 0.9 } });
        expect(Object.keys(run.tags)).toEqual(Object.keys(many(60)));
        expect(warn).toHaveBeenCalledWith(
          expect.stringMatching(/without its tags: .*REGISTRY_MAX_TAGS \(100\)/),
        );
        warn.mockRestore();
      });
    });

    it('refuses a model with too many tags', async () => {
      const { models } = setup();
      await expect(models.createModel({ name: 'tagged', tags: many(101) })).rejects.toThrow(
        /REGISTRY_MAX_TAGS/,
      );
    });
  });

  describe('experiments', () => {
    it('creates an experiment once; the same name again is a conflict', async () => {
      const { runs } = setup();
      const created = await runs.createExperiment('iris', { team: 'ml' });
      await expect(runs.createExperiment('iris')).rejects.toThrow(ConflictError);
      expect(await runs.getExperiment('iris')).toEqual(created);
      expect(await runs.getExperiment(created.id)).toEqual(created);
      expect((await runs.listExperiments(10)).experiments).toEqual([created]);
    });

    it('answers an unknown experiment with a 404 that says where to look', async () => {
      const { runs } = setup();
      await expect(runs.getExperiment('nope')).rejects.toThrow(
        new NotFoundError("unknown experiment 'nope'", 'GET /experiments lists them.'),
      );
    });
  });

  describe('runs', () => {
    it('creates a run and its experiment, in one transaction', async () => {
      const { runs, transactions } = setup();
      const { run, created } = await runs.createRun({
        experiment: 'new',
        status: 'running',
        params: { lr: 0.01 },
      });
      expect(created).toBe(true);
      expect(run).toMatchObject({
        experiment: 'new',
        status: 'running',
        params: { lr: 0.01 },
        endTime: null,
      });
      expect(transactions.committed).toBe(1);
    });

    it('returns the existing run unchanged when a client-chosen runId is created again', async () => {
      const { runs } = setup();
      const runId = randomUUID();
      await runs.createRun({ experiment: 'x', runId, status: 'running', params: { a: 1 } });
      const again = await runs.createRun({ experiment: 'x', runId, status: 'running', params: { a: 2 } });
      expect(again.created).toBe(false);
      expect(again.run.params).toEqual({ a: 1 });
    });

    it('refuses an unknown parent run and rolls back the experiment it had created', async () => {
      const { runs, transactions } = setup();
      const parentRunId = randomUUID();
      await expect(runs.createRun({ experiment: 'orphans', parentRunId, status: 'running' })).rejects.toThrow(
        `unknown parent run '${parentRunId}'`,
      );
      expect(transactions.rolledBack).toBe(1);
      await expect(runs.getExperiment('orphans')).rejects.toThrow(NotFoundError);
    });

    it('answers 404 for an id that is not a UUID or not a run', async () => {
      const { runs } = setup();
      await expect(runs.getRun('42')).rejects.toThrow(NotFoundError);
      await expect(runs.getRun(randomUUID())).rejects.toThrow(NotFoundError);
      await expect(runs.updateRun(randomUUID(), { status: 'finished' })).rejects.toThrow(NotFoundError);
      await expect(runs.logMetrics('42', [{ key: 'loss', value: 1, step: 0 }])).rejects.toThrow(
        NotFoundError,
      );
      await expect(runs.metricHistory(randomUUID(), 'loss')).rejects.toThrow(NotFoundError);
    });

    it('merges tags and ends the run when its status becomes final', async () => {
      const { runs } = setup();
      const { run } = await runs.createRun({ experiment: 'x', status: 'running', tags: { a: '1' } });
      const running = await runs.updateRun(run.id, { tags: { b: '2' } });
      expect(running).toMatchObject({ status: 'running', tags: { a: '1', b: '2' }, endTime: null });
      const done = await runs.updateRun(run.id, { status: 'failed', error: 'out of memory' });
      expect(done).toMatchObject({ status: 'failed', error: 'out of memory', tags: { a: '1', b: '2' } });
      expect(done.endTime).not.toBeNull();
    });

    it('shows the latest value of each metric, and its history by step', async () => {
      const { runs } = setup();
      const { run } = await runs.createRun({ experiment: 'x', status: 'running' });
      const logged = await runs.logMetrics(run.id, [
        { key: 'loss', value: 0.5, step: 2 },
        { key: 'loss', value: 0.9, step: 1 },
        { key: 'f1', value: 0.7, step: 1 },
      ]);
      expect(logged).toEqual({ runId: run.id, logged: 3 });
      expect((await runs.getRun(run.id)).metrics).toEqual({ loss: 0.5, f1: 0.7 });
      expect((await runs.metricHistory(run.id, 'loss')).map((p) => [p.step, p.value])).toEqual([
        [1, 0.9],
        [2, 0.5],
      ]);
    });
  });

  describe('searchRuns', () => {
    it('hands the repository the type-checked filter and order, and pages its rows', async () => {
      const { runs, runsRepository } = setup();
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
      const { runs, runsRepository } = setup();
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
      const { runs } = setup();
      const filter = await runs.searchRuns({ limit: 10, filter: 'metrics.f1 >' }).catch((e) => e);
      expect(filter).toBeInstanceOf(InvalidInputError);
      expect(filter.message).toMatch(/^malformed filter: expected a number or a quoted string/);
      expect(filter.details).toEqual({ position: 12, input: 'metrics.f1 >' });
      const order = await runs.searchRuns({ limit: 10, orderBy: 'metrics.f1 SIDEWAYS' }).catch((e) => e);
      expect(order.message).toMatch(/^malformed orderBy: expected ASC, DESC/);
    });

    it('answers 404 for an unknown experiment', async () => {
      const { runs } = setup();
      await expect(runs.searchRuns({ limit: 10, experiment: 'nope' })).rejects.toThrow(NotFoundError);
    });
  });

  describe('training events', () => {
    it('training.started creates the run as running, once per message', async () => {
      const { runs, started } = setup();
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
      const { runs, started } = setup();
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
      const { runs, started, progress } = setup();
      const runId = randomUUID();
      await runs.onTrainingStarted(started(runId), 'start', 'corr');
      for (const step of [1, 2]) {
        await runs.onTrainingProgress(progress(runId, step, { loss: 1 / step }), `p-${step}`);
        await runs.onTrainingProgress(progress(runId, step, { loss: 1 / step }), `p-${step}`);
      }
      expect((await runs.metricHistory(runId, 'loss')).map((p) => p.value)).toEqual([1, 0.5]);
    });

    it('applies progress and run.finished that overtake training.started once the run starts, with nothing retried', async () => {
      const { runs, started, progress, finished, transactions } = setup();
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
      const { runs, started } = setup();
      const parent = randomUUID();
      const child = randomUUID();
      await runs.onTrainingStarted(started(child, { parentRunId: parent }), 'child', 'corr');
      await runs.onTrainingStarted(started(parent), 'parent', 'corr');
      expect((await runs.getRun(child)).parentRunId).toBe(parent);
      expect((await runs.getRun(parent)).childrenCount).toBe(1);
    });

    it('run.finished records the final status, tags and metrics at the last step', async () => {
      const { runs, started, progress, finished } = setup();
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
      const { runs, started, progress, finished } = setup();
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
