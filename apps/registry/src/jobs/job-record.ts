import {
  BatchRequested,
  ENDED_JOB_STEP_STATES,
  JOB_STEP_TITLES,
  JobKind,
  JobStateName,
  JobStepChanged,
  JobStepId,
  JobStepState,
  JobStepView,
  JobView,
  stepsOfKind,
  TERMINAL_JOB_STATES,
  TrainRequested,
} from '@sepal/contracts';

export type StepSummary = Record<string, string | number | boolean | null>;

/** A job as stored: what was asked, the current attempt and the state derived from its steps. */
export interface JobRecord extends Omit<JobView, 'dataset' | 'reason' | 'request' | 'steps'> {
  /** Null until the job's train.requested arrives (a step report may come first). */
  dataset: string | null;
  reason: string | null;
  /** train.requested of a training job, batch.requested of a batch job. */
  request: TrainRequested | BatchRequested | null;
  cancelRequestedBy: string | null;
  cancelRequestedAt: string | null;
}

/** A step as stored: the trainer's report with the highest (attempt, sequence), plus when the attempt started it. */
export interface StepRecord extends Omit<JobStepView, 'title'> {
  /** -1: set by the registry (pending after a retry, cancelled before it started); any report of the attempt wins. */
  sequence: number;
}

export interface JobWithSteps {
  job: JobRecord;
  steps: StepRecord[];
}

/** A gateway replica serving a model version (from model.served). */
export interface ServingReplica {
  replica: string;
  servedAt: string;
}

/** The sequence of the registry's own step states: lower than any trainer report of the same attempt. */
export const REGISTRY_SEQUENCE = -1;
/** The sequence of a `served` step completed by model.served: above any trainer report of the same attempt. */
export const SERVED_SEQUENCE = Number.MAX_SAFE_INTEGER;
/** The steps whose summary may name the model version the job produced. */
const MODEL_STEPS: readonly JobStepId[] = ['register', 'gate', 'promote', 'resolve-input'];
/** The steps whose summary may name the dataset version the job read. */
const DATA_STEPS: readonly JobStepId[] = ['resolve-data', 'resolve-input'];

const ended = (state: JobStepState) => ENDED_JOB_STEP_STATES.includes(state);
export const isTerminal = (state: JobStateName) => TERMINAL_JOB_STATES.includes(state);
const time = (iso: string) => Date.parse(iso);
const earliest = (a: string | null, b: string | null) =>
  a === null ? b : b === null || time(a) <= time(b) ? a : b;
const latest = (a: string | null, b: string | null) =>
  a === null ? b : b === null || time(a) >= time(b) ? a : b;
const normalise = (iso: string) => new Date(iso).toISOString();

export function pendingStep(step: JobStepId, attempt: number): StepRecord {
  return {
    step,
    state: 'pending',
    attempt,
    sequence: REGISTRY_SEQUENCE,
    startedAt: null,
    endedAt: null,
    worker: null,
    summary: {},
    error: null,
  };
}

/** Every step of a new job of `kind`, pending. */
export const newSteps = (attempt: number, kind: JobKind = 'train'): StepRecord[] =>
  stepsOfKind(kind).map((step) => pendingStep(step, attempt));

/** A job that has not started: no times, no error, no cancel asked. */
const NO_OUTCOME = {
  startedAt: null,
  endedAt: null,
  error: null,
  cancelRequested: false,
  cancelRequestedBy: null,
  cancelRequestedAt: null,
} as const;

/** A job row known only by its id (a step report came before train.requested); train.requested fills it in. */
export function newJob(
  id: string,
  attempt: number,
  correlationId: string,
  kind: JobKind = 'train',
): JobRecord {
  return {
    id,
    kind,
    state: 'queued',
    dataset: null,
    datasetVersion: null,
    reason: null,
    requestedBy: null,
    correlationId,
    attempt,
    parentRunId: null,
    modelName: null,
    modelVersion: null,
    request: null,
    createdAt: new Date().toISOString(),
    ...NO_OUTCOME,
  };
}

/** Records what train.requested asked (a redelivery writes the same values again). */
export function withRequest(job: JobRecord, request: TrainRequested, correlationId: string): JobRecord {
  if (job.kind !== 'train') return job; // a train.requested reusing a batch job's id changes nothing
  return {
    ...job,
    dataset: request.dataset,
    datasetVersion: request.version ?? job.datasetVersion,
    reason: request.reason,
    requestedBy: request.requestedBy ?? null,
    // The first request names the pipeline; a placeholder only had the step report's id.
    correlationId: job.request ? job.correlationId : correlationId,
    modelName: job.modelName ?? request.modelName ?? null,
    request,
  };
}

/**
 * Moves a job to a later attempt (a retry): cancellation and outcome are cleared, and every step that did not
 * succeed (or was skipped) is pending again in the new attempt, so late reports of the old attempt no longer count.
 */
export function advanceAttempt({ job, steps }: JobWithSteps, attempt: number): JobWithSteps {
  if (attempt <= job.attempt) return { job, steps };
  return {
    job: {
      ...job,
      attempt,
      parentRunId: null,
      modelVersion: null,
      ...NO_OUTCOME,
    },
    steps: steps.map((s) =>
      s.state === 'succeeded' || s.state === 'skipped' ? s : pendingStep(s.step, attempt),
    ),
  };
}

const ranks = (a: { attempt: number; sequence: number }, b: { attempt: number; sequence: number }) =>
  a.attempt !== b.attempt ? a.attempt - b.attempt : a.sequence - b.sequence;

/**
 * Merges a trainer's report into its step: the report with the highest (attempt, sequence) gives the state, worker,
 * summary and error; the step's start is the earliest report of that attempt. The result does not depend on the
 * order in which reports arrive.
 */
export function applyStepReport(step: StepRecord, report: JobStepChanged): StepRecord {
  const at = normalise(report.at);
  const reportStart = report.state === 'pending' ? null : at;
  const comparison = ranks(report, step);
  if (comparison < 0) {
    // A lower report of the same attempt still tells when the step started.
    if (report.attempt !== step.attempt) return step;
    return {
      ...step,
      startedAt: earliest(step.startedAt, reportStart),
      worker: step.worker ?? report.worker ?? null,
    };
  }
  if (comparison === 0) return step; // a redelivery
  const sameAttempt = report.attempt === step.attempt;
  return {
    step: step.step,
    state: report.state,
    attempt: report.attempt,
    sequence: report.sequence,
    startedAt: sameAttempt ? earliest(step.startedAt, reportStart) : reportStart,
    endedAt: ended(report.state) ? at : null,
    worker: report.worker ?? (sameAttempt ? step.worker : null),
    summary: report.summary,
    error: report.error ?? null,
  };
}

/** What a report of the job's current attempt tells about the job: its sweep, the model version, the data version. */
export function withReportFacts(job: JobRecord, report: JobStepChanged): JobRecord {
  if (report.attempt !== job.attempt) return job;
  const next = { ...job };
  if (report.parentRunId) next.parentRunId = report.parentRunId;
  const { modelName, modelVersion, datasetVersion } = report.summary;
  if (MODEL_STEPS.includes(report.step)) {
    if (typeof modelName === 'string' && modelName) next.modelName = modelName;
    if (typeof modelVersion === 'number' && Number.isInteger(modelVersion)) next.modelVersion = modelVersion;
  }
  if (DATA_STEPS.includes(report.step) && typeof datasetVersion === 'string' && !next.datasetVersion) {
    next.datasetVersion = datasetVersion;
  }
  return next;
}

/**
 * The `served` step once gateway replicas serve the job's model version: succeeded when the first one did, with the
 * replicas in its summary. Unchanged while none does.
 */
export function withServingReplicas(
  step: StepRecord,
  attempt: number,
  replicas: ServingReplica[],
): StepRecord {
  if (replicas.length === 0) return step;
  const names = replicas.map((r) => r.replica).sort();
  const first = replicas.map((r) => normalise(r.servedAt)).reduce<string | null>(earliest, null);
  return {
    ...step,
    state: 'succeeded',
    attempt,
    sequence: SERVED_SEQUENCE,
    startedAt: first,
    endedAt: first,
    summary: { replicas: names.join(','), replicaCount: names.length },
    error: null,
  };
}

/** Marks the pending steps of the current attempt cancelled: the job was cancelled before any trainer started it. */
export function cancelPendingSteps(steps: StepRecord[], attempt: number, at: string): StepRecord[] {
  return steps.map((s) =>
    s.attempt === attempt && s.state === 'pending'
      ? { ...s, state: 'cancelled', endedAt: at, error: 'cancelled before it started' }
      : s,
  );
}

function derivedState(job: JobRecord, current: Map<JobStepId, StepRecord>): JobStateName {
  const steps = [...current.values()];
  const gate = current.get('gate');
  const promote = current.get('promote');
  let state: JobStateName;
  if (steps.some((s) => s.state === 'cancelled')) state = 'cancelled';
  else if (steps.some((s) => s.state === 'failed')) state = 'failed';
  else if (
    (job.kind === 'batch' && current.get('store-output')?.state === 'succeeded') ||
    promote?.state === 'succeeded' ||
    (promote?.state === 'skipped' && gate !== undefined && ended(gate.state))
  ) {
    state = 'succeeded';
  } else if (steps.some((s) => s.state !== 'pending')) state = 'running';
  else state = 'queued';
  return job.cancelRequested && !isTerminal(state) ? 'cancelling' : state;
}

/**
 * The job's state, start, end and error, derived from the steps of its current attempt: `running` once any step ran,
 * `failed`/`cancelled` when a step did, `succeeded` when promote succeeded (or the gate ended and promote was
 * skipped); `cancelling` while a cancel is asked and none of these holds. `now` ends a job no step gives a time to.
 */
export function deriveJob(job: JobRecord, steps: StepRecord[], now: string): JobRecord {
  const current = new Map(steps.filter((s) => s.attempt === job.attempt).map((s) => [s.step, s]));
  const state = derivedState(job, current);
  const inOrder = stepsOfKind(job.kind).flatMap((id) => current.get(id) ?? []);
  const startedAt = inOrder.map((s) => s.startedAt).reduce(earliest, null);
  const work = inOrder.filter((s) => s.step !== 'served');
  const endedAt = isTerminal(state)
    ? (work.map((s) => s.endedAt).reduce(latest, null) ?? job.endedAt ?? job.cancelRequestedAt ?? now)
    : null;
  const cause =
    state === 'failed' || state === 'cancelled' ? inOrder.find((s) => s.state === state) : undefined;
  const error = cause ? `${cause.step}: ${cause.error ?? state}` : null;
  return { ...job, state, startedAt, endedAt, error };
}

export function toStepView(step: StepRecord): JobStepView {
  return {
    step: step.step,
    title: JOB_STEP_TITLES[step.step],
    state: step.state,
    attempt: step.attempt,
    startedAt: step.startedAt,
    endedAt: step.endedAt,
    worker: step.worker,
    summary: step.summary,
    error: step.error,
  };
}

/** The REST view; a step the job has no row for (a step added after it was created) shows as pending. */
export function toJobView({ job, steps }: JobWithSteps): JobView {
  const byStep = new Map(steps.map((s) => [s.step, s]));
  return {
    id: job.id,
    kind: job.kind,
    state: job.state,
    dataset: job.dataset ?? '',
    datasetVersion: job.datasetVersion,
    reason: job.reason ?? '',
    requestedBy: job.requestedBy,
    correlationId: job.correlationId,
    attempt: job.attempt,
    parentRunId: job.parentRunId,
    modelName: job.modelName,
    modelVersion: job.modelVersion,
    request: job.request ?? {},
    createdAt: job.createdAt,
    startedAt: job.startedAt,
    endedAt: job.endedAt,
    error: job.error,
    cancelRequested: job.cancelRequested,
    steps: stepsOfKind(job.kind).map((id) => toStepView(byStep.get(id) ?? pendingStep(id, job.attempt))),
  };
}
