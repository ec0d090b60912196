/** RunsService: limits on tags and params, experiments and runs. */
import { Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { ConflictError, InvalidInputError, NotFoundError } from '@sepal/contracts';
import { runsOnFakes } from '../../test/fakes/runs-fakes';

describe('RunsService', () => {
  describe('limits on tags and params (REGISTRY_MAX_TAGS, REGISTRY_MAX_PARAMS)', () => {
    const many = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 'v']));

    it('takes exactly the default limits and refuses one more with a 400 naming the setting', async () => {
      const { runs } = runsOnFakes();
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
      const { runs } = runsOnFakes();
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
        const { runs, started, transactions } = runsOnFakes();
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
        const { runs, started } = runsOnFakes();
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
        const { runs, started, finished } = runsOnFakes();
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
        const { runs, started, finished } = runsOnFakes();
        const runId = randomUUID();
        await expect(runs.onRunFinished(finished(runId, { tags: many(101) }), 'done')).rejects.toThrow(
          /REGISTRY_MAX_TAGS \(100\)/,
        );
        await runs.onTrainingStarted(started(runId), 'start', 'corr');
        expect((await runs.getRun(runId)).status).toBe('running');
      });

      it('a parked run.finished that would go over once merged is applied without its tags, not refusing the start', async () => {
        const { runs, started, finished } = runsOnFakes();
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
      const { models } = runsOnFakes();
      await expect(models.createModel({ name: 'tagged', tags: many(101) })).rejects.toThrow(
        /REGISTRY_MAX_TAGS/,
      );
    });
  });

  describe('experiments', () => {
    it('creates an experiment once; the same name again is a conflict', async () => {
      const { runs } = runsOnFakes();
      const created = await runs.createExperiment('iris', { team: 'ml' });
      await expect(runs.createExperiment('iris')).rejects.toThrow(ConflictError);
      expect(await runs.getExperiment('iris')).toEqual(created);
      expect(await runs.getExperiment(created.id)).toEqual(created);
      expect((await runs.listExperiments(10)).experiments).toEqual([created]);
    });

    it('answers an unknown experiment with a 404 that says where to look', async () => {
      const { runs } = runsOnFakes();
      await expect(runs.getExperiment('nope')).rejects.toThrow(
        new NotFoundError("unknown experiment 'nope'", 'GET /experiments lists them.'),
      );
    });
  });

  describe('runs', () => {
    it('creates a run and its experiment, in one transaction', async () => {
      const { runs, transactions } = runsOnFakes();
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
      const { runs } = runsOnFakes();
      const runId = randomUUID();
      await runs.createRun({ experiment: 'x', runId, status: 'running', params: { a: 1 } });
      const again = await runs.createRun({ experiment: 'x', runId, status: 'running', params: { a: 2 } });
      expect(again.created).toBe(false);
      expect(again.run.params).toEqual({ a: 1 });
    });

    it('refuses an unknown parent run and rolls back the experiment it had created', async () => {
      const { runs, transactions } = runsOnFakes();
      const parentRunId = randomUUID();
      await expect(runs.createRun({ experiment: 'orphans', parentRunId, status: 'running' })).rejects.toThrow(
        `unknown parent run '${parentRunId}'`,
      );
      expect(transactions.rolledBack).toBe(1);
      await expect(runs.getExperiment('orphans')).rejects.toThrow(NotFoundError);
    });

    it('answers 404 for an id that is not a UUID or not a run', async () => {
      const { runs } = runsOnFakes();
      await expect(runs.getRun('42')).rejects.toThrow(NotFoundError);
      await expect(runs.getRun(randomUUID())).rejects.toThrow(NotFoundError);
      await expect(runs.updateRun(randomUUID(), { status: 'finished' })).rejects.toThrow(NotFoundError);
      await expect(runs.logMetrics('42', [{ key: 'loss', value: 1, step: 0 }])).rejects.toThrow(
        NotFoundError,
      );
      await expect(runs.metricHistory(randomUUID(), 'loss')).rejects.toThrow(NotFoundError);
    });

    it('merges tags and ends the run when its status becomes final', async () => {
      const { runs } = runsOnFakes();
      const { run } = await runs.createRun({ experiment: 'x', status: 'running', tags: { a: '1' } });
      const running = await runs.updateRun(run.id, { tags: { b: '2' } });
      expect(running).toMatchObject({ status: 'running', tags: { a: '1', b: '2' }, endTime: null });
      const done = await runs.updateRun(run.id, { status: 'failed', error: 'out of memory' });
      expect(done).toMatchObject({ status: 'failed', error: 'out of memory', tags: { a: '1', b: '2' } });
      expect(done.endTime).not.toBeNull();
    });

    it('shows the latest value of each metric, and its history by step', async () => {
      const { runs } = runsOnFakes();
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
});
