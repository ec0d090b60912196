/** JobsService: cancelling a job and retrying a failed one. */
import {
  ConflictError,
  EventNames,
  JOB_STEPS,
  JobStepId,
  NotFoundError,
  trainRequestedSchema,
  UnprocessableError,
} from '@sepal/contracts';
import {
  at,
  FakeJobsRepository,
  jobsOnFakes,
  RequestJob,
  PARENT_RUN,
  report,
  restartSequence,
  stepOf,
  successfulRun,
  withoutCreatedAt,
} from '../../test/fakes/jobs-fakes';
import { JobsService } from './jobs.service';

describe('JobsService', () => {
  let repository: FakeJobsRepository, service: JobsService, requested: RequestJob;
  afterEach(() => jest.restoreAllMocks());
  beforeEach(() => void ({ repository, service, requested } = jobsOnFakes()));

  describe('cancel', () => {
    it('cancels a job no trainer started at once, and still announces it', async () => {
      await requested('queued');
      const view = await service.cancelJob('queued', 'bob');
      expect(view).toMatchObject({ state: 'cancelled', cancelRequested: true });
      expect(view.endedAt).not.toBeNull();
      expect(view.steps.every((s) => s.state === 'cancelled')).toBe(true);
      expect(repository.outbox).toEqual([
        {
          type: EventNames.JobCancelRequested,
          payload: { jobId: 'queued', requestedBy: 'bob', at: expect.any(String) },
          correlationId: 'corr-queued',
        },
      ]);
    });

    it('marks a running job cancelling until its trainer reports the cancelled step', async () => {
      await requested('running');
      restartSequence();
      await service.onStepChanged(report('running', 'train-trials', 'running', 1), 'c');
      expect(await service.cancelJob('running')).toMatchObject({
        state: 'cancelling',
        cancelRequested: true,
      });
      expect(repository.outbox.map((e) => e.type)).toEqual([EventNames.JobCancelRequested]);
      // Asking again announces it again (a trainer may have missed the broadcast).
      expect((await service.cancelJob('running')).state).toBe('cancelling');
      expect(repository.outbox).toHaveLength(2);
      await service.onStepChanged(report('running', 'train-trials', 'cancelled', 3), 'c');
      expect(await service.getJob('running')).toMatchObject({ state: 'cancelled', endedAt: at(3) });
    });

    it('refuses to cancel a job that has ended (409) or does not exist (404), and emits nothing', async () => {
      await requested('done');
      for (const r of successfulRun('done')) await service.onStepChanged(r, 'c');
      await expect(service.cancelJob('done')).rejects.toThrow(ConflictError);
      await expect(service.cancelJob('nope')).rejects.toThrow(NotFoundError);
      await expect(service.cancelJob('nope')).rejects.toThrow("unknown job 'nope'");
      expect(repository.outbox).toEqual([]);
    });
  });

  describe('retry', () => {
    async function failedJob(id: string) {
      await requested(id, { grid: { learningRate: [0.01, 0.1] } });
      restartSequence();
      await service.onStepChanged(report(id, 'resolve-data', 'succeeded', 1), 'c');
      await service.onStepChanged(report(id, 'train-trials', 'running', 2, { parentRunId: PARENT_RUN }), 'c');
      await service.onStepChanged(report(id, 'train-trials', 'failed', 3, { error: 'worker died' }), 'c');
    }

    it('runs a failed job again as attempt 2 with its original request, and ignores the old attempt after', async () => {
      await failedJob('f');
      const view = await service.retryJob('f', 'carol');
      expect(view).toMatchObject({
        state: 'queued',
        attempt: 2,
        error: null,
        endedAt: null,
        parentRunId: null,
        requestedBy: 'carol',
      });
      expect(stepOf(view, 'resolve-data')).toMatchObject({ state: 'succeeded', attempt: 1 });
      expect(stepOf(view, 'train-trials')).toMatchObject({ state: 'pending', attempt: 2, error: null });
      expect(repository.outbox).toEqual([
        {
          type: EventNames.TrainRequested,
          payload: expect.objectContaining({
            dataset: 'iris',
            grid: { learningRate: [0.01, 0.1] },
            jobId: 'f',
            attempt: 2,
            requestedBy: 'carol',
          }),
          correlationId: 'corr-f',
        },
      ]);

      // The retry's own train.requested reaches the registry's consumer: nothing changes.
      await service.onTrainRequested(repository.outbox[0].payload as never, 'retry-message', 'corr-f');
      expect(withoutCreatedAt(await service.getJob('f'))).toEqual(withoutCreatedAt(view));
      // A late report of attempt 1 does not count; attempt 2's does.
      await service.onStepChanged(report('f', 'train-trials', 'running', 4), 'c');
      expect((await service.getJob('f')).state).toBe('queued');
      await service.onStepChanged(
        { ...report('f', 'train-trials', 'running', 5), attempt: 2, sequence: 1 },
        'c',
      );
      expect(await service.getJob('f')).toMatchObject({ state: 'running', attempt: 2, startedAt: at(5) });
    });

    const VERSION = 'a'.repeat(64);
    const KEPT = 'b'.repeat(64);
    const ONNX = 'c'.repeat(64);
    /** A job whose steps up to `failAt` succeeded (select keeping its trial unless told not to), then `failAt` failed. */
    async function failedAt(id: string, failAt: JobStepId, options: { kept?: boolean } = {}) {
      await requested(id);
      restartSequence();
      const summaries: Partial<Record<JobStepId, Record<string, string | number>>> = {
        'resolve-data': { datasetVersion: VERSION, trials: 2 },
        select:
          options.kept === false ? { selected_trial: 1 } : { selected_trial: 1, selected_trial_sha256: KEPT },
        register: { modelName: 'iris-classifier', modelVersion: 4, sha256: ONNX },
      };
      let second = 0;
      for (const step of JOB_STEPS.slice(0, JOB_STEPS.indexOf(failAt))) {
        await service.onStepChanged(
          report(id, step, 'succeeded', ++second, { summary: summaries[step] ?? {} }),
          'c',
        );
      }
      await service.onStepChanged(report(id, failAt, 'failed', ++second, { error: 'registry down' }), 'c');
    }
    const resumeOf = (index: number) => (repository.outbox[index].payload as { resume: unknown }).resume;

    it('resumes from the failed step where the earlier results are kept, and says why in the request', async () => {
      await failedAt('at-export', 'export');
      const view = await service.retryJob('at-export');
      expect(resumeOf(0)).toEqual({
        fromStep: 'evaluate',
        fromAttempt: 1,
        datasetVersion: VERSION,
        selectedTrialSha256: KEPT,
        reason:
          "the job stopped at 'export': the trial selected by attempt 1 is reused (training and selection are skipped)",
      });
      expect(view.request).toMatchObject({ attempt: 2, resume: { fromStep: 'evaluate' } });
      expect(trainRequestedSchema.safeParse(repository.outbox[0].payload).success).toBe(true);

      await failedAt('at-gate', 'gate');
      await service.retryJob('at-gate');
      expect(resumeOf(1)).toMatchObject({
        fromStep: 'gate',
        registered: { modelName: 'iris-classifier', version: 4, sha256: ONNX },
        reason:
          "the job stopped at 'gate': iris-classifier v4 registered by attempt 1 is reused (not registered again); gate and promote run again",
      });
    });

    it('runs from the start when the failure came before selection or the selected trial was not kept', async () => {
      await failedAt('at-trials', 'train-trials');
      await service.retryJob('at-trials');
      expect(resumeOf(0)).toMatchObject({
        fromStep: 'resolve-data',
        reason: "the job stopped at 'train-trials', before a trial was selected: it runs from the start",
      });
      await failedAt('not-kept', 'parity', { kept: false });
      await service.retryJob('not-kept');
      expect(resumeOf(1)).toMatchObject({
        fromStep: 'resolve-data',
        reason:
          "the job stopped at 'parity', but its selected trial was not kept in the artifact store: the trials train again",
      });
    });

    it('retries a cancelled job, and refuses a queued, running or succeeded one with 409', async () => {
      await requested('c');
      await service.cancelJob('c');
      expect((await service.retryJob('c')).state).toBe('queued');
      await expect(service.retryJob('c')).rejects.toThrow(
        /job 'c' is queued: only a failed or cancelled job/,
      );
      await requested('ok');
      for (const r of successfulRun('ok')) await service.onStepChanged(r, 'c');
      await expect(service.retryJob('ok')).rejects.toThrow(ConflictError);
      expect(repository.outbox.map((e) => e.type)).toEqual([
        EventNames.JobCancelRequested,
        EventNames.TrainRequested,
      ]);
    });

    it('moves a job to a later attempt announced by a train.requested from elsewhere', async () => {
      await failedJob('elsewhere');
      await requested('elsewhere', { attempt: 3 });
      expect(await service.getJob('elsewhere')).toMatchObject({ state: 'queued', attempt: 3, error: null });
      // A late copy of the first request does not take it back.
      await requested('elsewhere', { attempt: 1 });
      expect((await service.getJob('elsewhere')).attempt).toBe(3);
    });

    it('cannot retry a job whose request never arrived (422)', async () => {
      restartSequence();
      await service.onStepChanged(
        report('orphan', 'resolve-data', 'failed', 1, { error: 'no such dataset' }),
        'c',
      );
      await expect(service.retryJob('orphan')).rejects.toThrow(UnprocessableError);
    });
  });
});
