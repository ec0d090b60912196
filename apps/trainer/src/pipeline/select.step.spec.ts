import { JobStatusStore } from '../jobs/job-status.service';
import { JobRejectedError } from '../jobs/job-errors';
import { TrainerMetrics } from '../metrics/trainer-metrics.service';
import type { TrialResult } from '../sweep/grid-search';
import { DEFAULT_PLAN_LIMITS, planJob } from '../sweep/job-plan';
import type { TrainedTrial } from '../workers/trial-trainer.service';
import { SelectStep } from './select.step';

const plan = planJob({ learningRate: [0.01, 0.1] }, { epochs: 5 }, DEFAULT_PLAN_LIMITS);

function trial(index: number, fields: Partial<TrialResult>): TrialResult {
  return {
    index,
    params: plan.trials[index],
    status: 'finished',
    valAccuracy: 0.9,
    valLoss: 0.3,
    bestEpoch: 4,
    epochsRun: 5,
    parameterCount: 10,
    stoppedEarly: false,
    seconds: 1,
    ...fields,
  };
}

function step() {
  const status = new JobStatusStore();
  const track = (change: (job: ReturnType<JobStatusStore['update']>) => void) =>
    status.update('job', { correlationId: 'c', dataset: 'iris' }, change);
  return { status, select: new SelectStep({ metrics: new TrainerMetrics(), track }) };
}

describe('SelectStep', () => {
  it("keeps the sweep's best trial and its model, and shows it selected", async () => {
    const { status, select } = step();
    const model = { dispose: () => undefined } as TrainedTrial;
    const best = trial(1, { valAccuracy: 0.9583 });
    const selected = await select.run({
      dataset: 'iris',
      plan,
      outcome: { trials: [trial(0, {}), best], best, model },
    });
    expect(selected).toEqual({ trial: best, model, description: 'learningRate=0.1' });
    expect(select.summarize(selected)).toEqual({
      selected_trial: 2,
      params: 'learningRate=0.1',
      val_accuracy: 0.9583,
    });
    expect(status.get('job')?.selectedTrial).toBe(1);
  });

  it('rejects the job with the reasons when every trial failed', async () => {
    const { status, select } = step();
    const failed = (index: number, error: string) => trial(index, { status: 'failed', error });
    const outcome = {
      trials: [failed(0, 'Training diverged at epoch 3'), failed(1, 'Training diverged at epoch 3')],
      best: null,
      model: null,
    };
    const selection = select.run({ dataset: 'iris', plan, outcome });
    await expect(selection).rejects.toThrow(JobRejectedError);
    await expect(selection).rejects.toThrow('every trial failed: Training diverged at epoch 3');
    expect(status.get('job')).toBeUndefined();
  });
});
