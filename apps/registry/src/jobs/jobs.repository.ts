import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import {
  EventName,
  EventPayloadInput,
  JobKind,
  JobStateName,
  JobStepId,
  JobStepState,
  ModelServed,
} from '@sepal/contracts';
import { enqueueEvent, PublishOptions } from '@sepal/messaging';
import { Int8, managerOf, queryRows, SqlParams, Transaction } from '@sepal/persistence';
import { iso, isoOrNull } from '../paging';
import { REGISTRY_SCHEMA } from '../registry.schema';
import { JobRecord, JobWithSteps, ServingReplica, StepRecord, StepSummary } from './job-record';

export interface JobFilter {
  state?: JobStateName;
  kind?: JobKind;
  dataset?: string;
  /** Keyset paging: only jobs listed after this one (newest first). */
  afterId?: string;
  limit: number;
}

/** A row of registry.jobs. */
interface JobRow {
  id: string;
  kind: JobKind;
  state: JobStateName;
  dataset: string | null;
  dataset_version: string | null;
  reason: string | null;
  requested_by: string | null;
  correlation_id: string;
  attempt: number;
  parent_run_id: string | null;
  model_name: string | null;
  model_version: number | null;
  request: JobRecord['request'];
  created_at: Date;
  started_at: Date | null;
  ended_at: Date | null;
  error: string | null;
  cancel_requested: boolean;
  cancel_requested_by: string | null;
  cancel_requested_at: Date | null;
}

/** A row of registry.job_steps. */
interface StepRow {
  job_id: string;
  step: JobStepId;
  state: JobStepState;
  attempt: number;
  sequence: Int8;
  started_at: Date | null;
  ended_at: Date | null;
  worker: string | null;
  summary: StepSummary | null;
  error: string | null;
}

const toJob = (r: JobRow): JobRecord => ({
  id: r.id,
  kind: r.kind ?? 'train',
  state: r.state,
  dataset: r.dataset ?? null,
  datasetVersion: r.dataset_version ?? null,
  reason: r.reason ?? null,
  requestedBy: r.requested_by ?? null,
  correlationId: r.correlation_id,
  attempt: Number(r.attempt),
  parentRunId: r.parent_run_id ?? null,
  modelName: r.model_name ?? null,
  modelVersion: r.model_version === null || r.model_version === undefined ? null : Number(r.model_version),
  request: r.request ?? null,
  createdAt: iso(r.created_at),
  startedAt: isoOrNull(r.started_at),
  endedAt: isoOrNull(r.ended_at),
  error: r.error ?? null,
  cancelRequested: Boolean(r.cancel_requested),
  cancelRequestedBy: r.cancel_requested_by ?? null,
  cancelRequestedAt: isoOrNull(r.cancel_requested_at),
});

const toStep = (r: StepRow): StepRecord => ({
  step: r.step,
  state: r.state,
  attempt: Number(r.attempt),
  sequence: Number(r.sequence),
  startedAt: isoOrNull(r.started_at),
  endedAt: isoOrNull(r.ended_at),
  worker: r.worker ?? null,
  summary: r.summary ?? {},
  error: r.error ?? null,
});

/** The parameters $1..$18 of a job row, in the column order of JOB_COLUMNS (created_at $19 and kind $20 come last). */
function jobValues(job: JobRecord): unknown[] {
  return [
    job.id,
    job.state,
    job.dataset,
    job.datasetVersion,
    job.reason,
    job.requestedBy,
    job.correlationId,
    job.attempt,
    job.parentRunId,
    job.modelName,
    job.modelVersion,
    job.request ? JSON.stringify(job.request) : null,
    job.startedAt,
    job.endedAt,
    job.error,
    job.cancelRequested,
    job.cancelRequestedBy,
    job.cancelRequestedAt,
  ];
}

const JOB_COLUMNS = `id, state, dataset, dataset_version, reason, requested_by, correlation_id, attempt, parent_run_id,
  model_name, model_version, request, started_at, ended_at, error, cancel_requested, cancel_requested_by,
  cancel_requested_at, created_at, kind`;

/** Every SQL statement about jobs, their steps and the model versions gateways serve. */
@Injectable()
export class JobsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Inserts a job and its steps unless the id exists; true when this call created it. */
  async insertJob(tx: Transaction, { job, steps }: JobWithSteps): Promise<boolean> {
    const manager = managerOf(tx, this.dataSource);
    const rows: unknown[] = await manager.query(
      `INSERT INTO registry.jobs (${JOB_COLUMNS})
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)
       ON CONFLICT (id) DO NOTHING RETURNING id`,
      [...jobValues(job), job.createdAt, job.kind],
    );
    if (rows.length === 0) return false;
    await this.saveSteps(tx, job.id, steps);
    return true;
  }

  /** The job and its steps, its row locked for the rest of the transaction (reports of one job apply one by one). */
  async lockJob(tx: Transaction, id: string): Promise<JobWithSteps | null> {
    const manager = managerOf(tx, this.dataSource);
    const rows = await queryRows<JobRow>(manager, `SELECT * FROM registry.jobs WHERE id = $1 FOR UPDATE`, [
      id,
    ]);
    if (rows.length === 0) return null;
    return { job: toJob(rows[0]), steps: await this.stepsOf(manager, [id]).then((s) => s.get(id) ?? []) };
  }

  async findJob(id: string): Promise<JobWithSteps | null> {
    const [found] = await this.withSteps(
      await queryRows<JobRow>(this.dataSource, `SELECT * FROM registry.jobs WHERE id = $1`, [id]),
    );
    return found ?? null;
  }

  async jobExists(id: string): Promise<boolean> {
    const rows: unknown[] = await this.dataSource.query(`SELECT 1 FROM registry.jobs WHERE id = $1`, [id]);
    return rows.length === 1;
  }

  /** Jobs newest first, after the `afterId` job when paging; reads `limit` rows. */
  async listJobs(filter: JobFilter): Promise<JobWithSteps[]> {
    const rows = await queryRows<JobRow>(
      this.dataSource,
      `SELECT j.* FROM registry.jobs j
       WHERE ($1::text IS NULL OR j.state = $1) AND ($2::text IS NULL OR j.dataset = $2)
         AND ($3::text IS NULL OR (j.created_at, j.id) < (SELECT c.created_at, c.id FROM registry.jobs c WHERE c.id = $3))
         AND ($5::text IS NULL OR j.kind = $5)
       ORDER BY j.created_at DESC, j.id DESC
       LIMIT $4`,
      [
        filter.state ?? null,
        filter.dataset ?? null,
        filter.afterId ?? null,
        filter.limit,
        filter.kind ?? null,
      ],
    );
    return this.withSteps(rows);
  }

  /** Writes the job's mutable columns. */
  async saveJob(tx: Transaction, job: JobRecord): Promise<void> {
    await managerOf(tx, this.dataSource).query(
      `UPDATE registry.jobs SET state = $2, dataset = $3, dataset_version = $4, reason = $5, requested_by = $6,
         correlation_id = $7, attempt = $8, parent_run_id = $9, model_name = $10, model_version = $11, request = $12,
         started_at = $13, ended_at = $14, error = $15, cancel_requested = $16, cancel_requested_by = $17,
         cancel_requested_at = $18, updated_at = clock_timestamp()
       WHERE id = $1`,
      jobValues(job),
    );
  }

  /** Inserts or overwrites the given steps of a job. */
  async saveSteps(tx: Transaction, jobId: string, steps: StepRecord[]): Promise<void> {
    if (steps.length === 0) return;
    const params = new SqlParams();
    const values = params.rows(
      steps.map((s) => [
        jobId,
        s.step,
        s.state,
        s.attempt,
        s.sequence,
        s.startedAt,
        s.endedAt,
        s.worker,
        JSON.stringify(s.summary),
        s.error,
      ]),
      [null, null, null, 'integer', 'bigint', 'timestamptz', 'timestamptz', null, 'jsonb', null],
    );
    await managerOf(tx, this.dataSource).query(
      `INSERT INTO registry.job_steps (job_id, step, state, attempt, sequence, started_at, ended_at, worker, summary, error)
       VALUES ${values}
       ON CONFLICT (job_id, step) DO UPDATE SET state = EXCLUDED.state, attempt = EXCLUDED.attempt,
         sequence = EXCLUDED.sequence, started_at = EXCLUDED.started_at, ended_at = EXCLUDED.ended_at,
         worker = EXCLUDED.worker, summary = EXCLUDED.summary, error = EXCLUDED.error`,
      params.values,
    );
  }

  /** The jobs that produced a model version. */
  async jobsOfModelVersion(tx: Transaction, modelName: string, version: number): Promise<string[]> {
    const rows = await queryRows<{ id: string }>(
      managerOf(tx, this.dataSource),
      `SELECT id FROM registry.jobs WHERE model_name = $1 AND model_version = $2 ORDER BY id`,
      [modelName, version],
    );
    return rows.map((r) => r.id);
  }

  /** Records that a replica serves a version (a repeated report keeps the earliest time). */
  async recordServing(tx: Transaction, served: ModelServed): Promise<void> {
    await managerOf(tx, this.dataSource).query(
      `INSERT INTO registry.served_versions AS s (model_name, version, replica, sha256, served_at)
       VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (model_name, version, replica) DO UPDATE SET served_at = least(s.served_at, EXCLUDED.served_at)`,
      [served.modelName, served.version, served.replica, served.sha256, served.at],
    );
  }

  async servingReplicas(tx: Transaction, modelName: string, version: number): Promise<ServingReplica[]> {
    const rows = await queryRows<{ replica: string; served_at: Date }>(
      managerOf(tx, this.dataSource),
      `SELECT replica, served_at FROM registry.served_versions WHERE model_name = $1 AND version = $2
       ORDER BY replica`,
      [modelName, version],
    );
    return rows.map((r) => ({ replica: r.replica, servedAt: iso(r.served_at) }));
  }

  /** Writes an event to the outbox in the transaction: published (by the relay) if and only if it commits. */
  enqueue<N extends EventName>(
    tx: Transaction,
    type: N,
    payload: EventPayloadInput<N>,
    options: PublishOptions = {},
  ): Promise<string> {
    return enqueueEvent(managerOf(tx, this.dataSource), REGISTRY_SCHEMA, type, payload, options);
  }

  private async withSteps(rows: JobRow[]): Promise<JobWithSteps[]> {
    if (rows.length === 0) return [];
    const jobs = rows.map(toJob);
    const steps = await this.stepsOf(
      this.dataSource.manager,
      jobs.map((j) => j.id),
    );
    return jobs.map((job) => ({ job, steps: steps.get(job.id) ?? [] }));
  }

  private async stepsOf(manager: EntityManager, ids: string[]): Promise<Map<string, StepRecord[]>> {
    const rows = await queryRows<StepRow>(
      manager,
      `SELECT * FROM registry.job_steps WHERE job_id = ANY($1::text[])`,
      [ids],
    );
    const byJob = new Map<string, StepRecord[]>();
    for (const row of rows) {
      const id = row.job_id;
      byJob.set(id, [...(byJob.get(id) ?? []), toStep(row)]);
    }
    return byJob;
  }
}
