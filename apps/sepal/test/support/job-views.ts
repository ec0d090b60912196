import { JOB_STEP_TITLES, JOB_STEPS, JobStepId, JobStepState, JobStepView, JobView } from '@sepal/contracts';

/** A step as GET /jobs/:id shows it: pending, nothing reported, unless `change` says otherwise. */
export function stepView(step: JobStepId, change: Partial<JobStepView> = {}): JobStepView {
  return {
    step,
    title: JOB_STEP_TITLES[step],
    state: 'pending',
    attempt: 1,
    startedAt: null,
    endedAt: null,
    worker: null,
    summary: {},
    error: null,
    ...change,
  };
}

/** A job in `state` whose first steps are in `steps` (the rest pending), of its `change.attempt` (1). */
export function jobView(
  state: JobView['state'],
  steps: JobStepState[] = [],
  change: Partial<JobView> = {},
): JobView {
  const attempt = change.attempt ?? 1;
  return {
    id: 'a1b2c3d4-0000-4000-8000-000000000000',
    kind: 'train',
    state,
    dataset: 'iris',
    datasetVersion: null,
    reason: 'manual',
    requestedBy: 'cli',
    correlationId: 'corr',
    attempt,
    parentRunId: null,
    modelName: null,
    modelVersion: null,
    request: {},
    createdAt: '2026-11-30T10:00:00.000Z',
    startedAt: null,
    endedAt: null,
    error: null,
    cancelRequested: state === 'cancelling',
    steps: JOB_STEPS.map((id, i) => stepView(id, { state: steps[i] ?? 'pending', attempt })),
    ...change,
  };
}
