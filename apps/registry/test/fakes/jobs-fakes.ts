/** A fake JobsRepository and the reports, requests and helpers the JobsService specs share. */
import { Logger } from '@nestjs/common';
import {
  EventName,
  JOB_STEPS,
  JobStepChanged,
  JobStepId,
  JobStepState,
  JobView,
  ModelServed,
  trainRequestedSchema,
} from '@sepal/contracts';
import { OutboxRelay } from '@sepal/messaging';
import { fakeTransaction, Transaction, TransactionRunner } from '@sepal/persistence';
import { JobWithSteps, ServingReplica } from '../../src/jobs/job-record';
import { JobFilter, JobsRepository } from '../../src/jobs/jobs.repository';
import { JobsService } from '../../src/jobs/jobs.service';

type Store = { [K in keyof JobsRepository]: JobsRepository[K] };

/** Jobs, steps, serving replicas and the outbox in memory, with the repository's semantics. */
export class FakeJobsRepository implements Store {
  readonly jobs = new Map<string, JobWithSteps>();
  readonly serving = new Map<string, ServingReplica[]>();
  readonly outbox: { type: EventName; payload: unknown; correlationId?: string }[] = [];

  async insertJob(_tx: Transaction, record: JobWithSteps) {
    if (this.jobs.has(record.job.id)) return false;
    this.jobs.set(record.job.id, structuredClone(record));
    return true;
  }
  async lockJob(_tx: Transaction, id: string) {
    return this.findJob(id);
  }
  async findJob(id: string) {
    const found = this.jobs.get(id);
    return found ? structuredClone(found) : null;
  }
  async jobExists(id: string) {
    return this.jobs.has(id);
  }
  async listJobs(filter: JobFilter) {
    const all = [...this.jobs.values()]
      .filter(
        ({ job }) =>
          (!filter.state || job.state === filter.state) &&
          (!filter.kind || job.kind === filter.kind) &&
          (!filter.dataset || job.dataset === filter.dataset),
      )
      .sort((a, b) => b.job.createdAt.localeCompare(a.job.createdAt) || b.job.id.localeCompare(a.job.id));
    const start = filter.afterId ? all.findIndex(({ job }) => job.id === filter.afterId) + 1 : 0;
    return structuredClone(all.slice(start, start + filter.limit));
  }
  async saveJob(_tx: Transaction, job: JobWithSteps['job']) {
    this.jobs.get(job.id)!.job = structuredClone(job);
  }
  async saveSteps(_tx: Transaction, jobId: string, steps: JobWithSteps['steps']) {
    const record = this.jobs.get(jobId)!;
    for (const step of steps) {
      record.steps = [...record.steps.filter((s) => s.step !== step.step), structuredClone(step)];
    }
  }
  async jobsOfModelVersion(_tx: Transaction, modelName: string, version: number) {
    return [...this.jobs.values()]
      .filter(({ job }) => job.modelName === modelName && job.modelVersion === version)
      .map(({ job }) => job.id);
  }
  async recordServing(_tx: Transaction, served: ModelServed) {
    const key = `${served.modelName}@${served.version}`;
    const others = (this.serving.get(key) ?? []).filter((r) => r.replica !== served.replica);
    const earlier = this.serving.get(key)?.find((r) => r.replica === served.replica);
    const servedAt = earlier && earlier.servedAt < served.at ? earlier.servedAt : served.at;
    this.serving.set(key, [...others, { replica: served.replica, servedAt }]);
  }
  async servingReplicas(_tx: Transaction, modelName: string, version: number) {
    return this.serving.get(`${modelName}@${version}`) ?? [];
  }
  async enqueue(
    _tx: Transaction,
    type: EventName,
    payload: unknown,
    options: { correlationId?: string } = {},
  ) {
    this.outbox.push({ type, payload, correlationId: options.correlationId });
    return `m${this.outbox.length}`;
  }
}

export const transactions: TransactionRunner = { run: (work) => work(fakeTransaction()) };
export const outboxRelay = { flush: async () => 0 } as unknown as OutboxRelay;

export const T0 = Date.parse('2026-11-30T10:00:00.000Z');
export const at = (second: number) => new Date(T0 + second * 1000).toISOString();
export const PARENT_RUN = '6f0c3a52-1d3e-4d7b-9a35-2f6a4c1b8e01';
export const request = (extra: Record<string, unknown> = {}) =>
  trainRequestedSchema.parse({
    dataset: 'iris',
    modelName: 'iris-classifier',
    requestedBy: 'alice',
    ...extra,
  });

let sequence = 0;
/** Starts the report sequence over (the next report gets `from` + 1). */
export function restartSequence(from = 0): void {
  sequence = from;
}

/** A trainer's report; sequences grow in the order reports are made (not the order they arrive). */
export function report(
  jobId: string,
  step: JobStepId,
  state: JobStepState,
  second: number,
  extra: Partial<JobStepChanged> = {},
): JobStepChanged {
  return {
    jobId,
    step,
    state,
    attempt: 1,
    sequence: ++sequence,
    at: at(second),
    worker: 'trainer-1',
    summary: {},
    ...extra,
  };
}

/** Every report of a job that runs each step in turn, registers v3, passes the gate and is promoted. */
export function successfulRun(jobId: string): JobStepChanged[] {
  restartSequence();
  const facts: Partial<Record<JobStepId, Partial<JobStepChanged>>> = {
    'train-trials': { parentRunId: PARENT_RUN, summary: { trials: 4 } },
    register: { summary: { modelName: 'iris-classifier', modelVersion: 3 } },
    gate: { summary: { decision: 'promote' } },
  };
  return JOB_STEPS.filter((s) => s !== 'served').flatMap((step, i) => [
    report(jobId, step, 'running', 10 * i),
    report(jobId, step, 'succeeded', 10 * i + 5, facts[step]),
  ]);
}

/** A deterministic shuffle (mulberry32), so a failing order can be replayed. */
export function shuffled<T>(items: T[], seed: number): T[] {
  let state = seed;
  const random = () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy;
}

export const stepOf = (view: Pick<JobView, 'steps'>, step: JobStepId) =>
  view.steps.find((s) => s.step === step)!;
export const withoutCreatedAt = ({ createdAt: _createdAt, ...rest }: JobView) => rest;

/** A JobsService on a fresh FakeJobsRepository, quiet, with `requested` delivering a train.requested for a job. */
export function jobsOnFakes() {
  jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
  const repository = new FakeJobsRepository();
  const service = new JobsService(repository as unknown as JobsRepository, transactions, outboxRelay);
  const requested = (jobId: string, extra: Record<string, unknown> = {}) =>
    service.onTrainRequested(request({ jobId, ...extra }), `msg-${jobId}`, `corr-${jobId}`);
  return { repository, service, requested };
}

/** Delivers a train.requested for a job (`extra` overrides fields of the request). */
export type RequestJob = ReturnType<typeof jobsOnFakes>['requested'];
