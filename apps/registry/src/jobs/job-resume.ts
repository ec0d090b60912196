import { JOB_STEPS, type JobResume, type JobStepId } from '@sepal/contracts';
import type { JobWithSteps, StepRecord } from './job-record';

const SHA256 = /^[0-9a-f]{64}$/;
const at = (step: JobStepId) => JOB_STEPS.indexOf(step);

/**
 * Where a retry of a failed or cancelled job starts, from what its record keeps:
 * - stopped at resolve-data, train-trials or select: from the start (nothing was selected);
 * - stopped at evaluate, export, parity or register, with the selected trial kept in the artifact store
 *   (select's `selected_trial_sha256`) and the dataset version known: from `evaluate`, reusing that trial;
 * - stopped at gate or promote after register succeeded: from `gate`, reusing the registered version too
 *   (registering again would add a second version of the same model).
 * When a result it would reuse is missing, it runs from the start and `reason` says why.
 */
export function resumePoint({ job, steps }: JobWithSteps): JobResume {
  const byStep = new Map(steps.map((s) => [s.step, s]));
  const fromAttempt = job.attempt;
  const fromStart = (reason: string): JobResume => ({ fromStep: 'resolve-data', reason, fromAttempt });
  const stopped = JOB_STEPS.find((id) => {
    const state = byStep.get(id)?.state;
    return state === 'failed' || state === 'cancelled';
  });
  if (stopped === undefined) return fromStart('no step failed: the job runs again from the start');
  const where = `the job stopped at '${stopped}'`;
  if (at(stopped) <= at('select'))
    return fromStart(`${where}, before a trial was selected: it runs from the start`);

  const datasetVersion = text(byStep.get('resolve-data'), 'datasetVersion');
  const select = byStep.get('select');
  const selectedTrialSha256 = done(select) ? text(select, 'selected_trial_sha256') : undefined;
  if (
    !datasetVersion ||
    !SHA256.test(datasetVersion) ||
    !selectedTrialSha256 ||
    !SHA256.test(selectedTrialSha256)
  ) {
    return fromStart(
      `${where}, but its selected trial was not kept in the artifact store: the trials train again`,
    );
  }
  const reused = { fromAttempt, datasetVersion, selectedTrialSha256 };
  const register = byStep.get('register');
  if (register && at(stopped) >= at('gate') && done(register)) {
    const modelName = text(register, 'modelName');
    const version = register.summary.modelVersion;
    const sha256 = text(register, 'sha256');
    if (modelName && typeof version === 'number' && sha256 && SHA256.test(sha256)) {
      return {
        fromStep: 'gate',
        reason: `${where}: ${modelName} v${version} registered by attempt ${fromAttempt} is reused (not registered again); gate and promote run again`,
        ...reused,
        registered: { modelName, version, sha256 },
      };
    }
  }
  return {
    fromStep: 'evaluate',
    reason: `${where}: the trial selected by attempt ${fromAttempt} is reused (training and selection are skipped)`,
    ...reused,
  };
}

/** Succeeded, or skipped by a resumed attempt that reused its result (the summary then names what it reused). */
const done = (step: StepRecord | undefined) => step?.state === 'succeeded' || step?.state === 'skipped';

function text(step: StepRecord | undefined, key: string): string | undefined {
  const value = step?.summary[key];
  return typeof value === 'string' ? value : undefined;
}
