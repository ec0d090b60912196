import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { Int8, managerOf, queryRows, SqlParams, Transaction } from '@sepal/persistence';
import { ExperimentView, featureImportanceOf, RunStatus, RunView } from '@sepal/contracts';
import { iso, isoOrNull } from '../paging';
import { Condition, OrderTerm } from '../search/run-filter';
import { filterSql, orderBySql } from './run-filter.sql';

export interface NewRun {
  id: string;
  experimentId: string;
  parentRunId: string | null;
  name: string | null;
  status: RunStatus;
  startTime: string | null;
  params: Record<string, string | number | boolean>;
  tags: Record<string, string>;
  dataset: string | null;
  datasetVersion: string | null;
  backend: string | null;
  correlationId: string | null;
}

export interface RunPatch {
  status?: RunStatus;
  tags?: Record<string, string>;
  endTime?: string;
  error?: string;
}

/** A run event that arrived before its run's training.started, kept until the run exists. */
export interface EarlyRunEvent {
  kind: 'progress' | 'finished';
  payload: unknown;
}

/** How long an early event waits for its run (e.g. the run.finished of a run whose start was never published). */
const EARLY_EVENT_DAYS = 7;

export interface MetricPoint {
  key: string;
  value: number;
  step: number;
  timestamp?: string;
}

export interface RunSearch {
  /** Type-checked conditions and order terms of the search language (search/run-filter.ts). */
  filter: Condition[];
  orderBy: OrderTerm[];
  experimentId?: string;
  parentRunId?: string;
  offset: number;
  limit: number;
}

/** A row of registry.experiments. */
interface ExperimentRow {
  id: string;
  name: string;
  tags: Record<string, string>;
  created_at: Date;
}

/** A row of registry.runs as RUN_SELECT answers it: with its experiment's name, latest metrics and child count. */
interface RunRow {
  id: string;
  experiment_id: string;
  experiment_name: string;
  parent_run_id: string | null;
  name: string | null;
  status: RunStatus;
  start_time: Date;
  end_time: Date | null;
  params: RunView['params'];
  tags: Record<string, string>;
  dataset: string | null;
  dataset_version: string | null;
  backend: string | null;
  correlation_id: string | null;
  error: string | null;
  /** jsonb: metric key → its latest value. */
  latest_metrics: Record<string, number | string> | null;
  children_count: number;
}

const toExperiment = (r: ExperimentRow): ExperimentView => ({
  id: r.id,
  name: r.name,
  tags: r.tags,
  createdAt: iso(r.created_at),
});

const toRun = (r: RunRow): RunView => ({
  id: r.id,
  experimentId: r.experiment_id,
  experiment: r.experiment_name,
  parentRunId: r.parent_run_id ?? null,
  name: r.name ?? null,
  status: r.status,
  startTime: iso(r.start_time),
  endTime: isoOrNull(r.end_time),
  params: r.params,
  tags: r.tags,
  dataset: r.dataset ?? null,
  datasetVersion: r.dataset_version ?? null,
  backend: r.backend ?? null,
  correlationId: r.correlation_id ?? null,
  error: r.error ?? null,
  ...withImportance(
    Object.fromEntries(Object.entries(r.latest_metrics ?? {}).map(([k, v]) => [k, Number(v)])),
  ),
  childrenCount: Number(r.children_count ?? 0),
});

/** The run's metrics, and the feature importance among them (a tree model's `importance_<feature>`). */
const withImportance = (metrics: Record<string, number>) => ({
  metrics,
  featureImportance: featureImportanceOf(metrics),
});

/** The parameters $1..$12 of an insert into registry.runs, in column order. */
function runValues(run: NewRun): unknown[] {
  return [
    run.id,
    run.experimentId,
    run.parentRunId,
    run.name,
    run.status,
    run.startTime,
    JSON.stringify(run.params),
    JSON.stringify(run.tags),
    run.dataset,
    run.datasetVersion,
    run.backend,
    run.correlationId,
  ];
}

/** A run with its experiment's name, the latest value of each metric and the number of child runs. */
const RUN_SELECT = `
  SELECT r.*, e.name AS experiment_name,
    (SELECT coalesce(jsonb_object_agg(lm.key, lm.value), '{}'::jsonb) FROM (
       SELECT DISTINCT ON (m.key) m.key, m.value FROM registry.metrics m
       WHERE m.run_id = r.id ORDER BY m.key, m.step DESC, m.timestamp DESC, m.id DESC) lm) AS latest_metrics,
    (SELECT count(*)::int FROM registry.runs c WHERE c.parent_run_id = r.id) AS children_count
  FROM registry.runs r JOIN registry.experiments e ON e.id = r.experiment_id`;

/** Every SQL statement about experiments, runs and metrics. */
@Injectable()
export class RunsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  private manager(tx?: Transaction): EntityManager {
    return managerOf(tx, this.dataSource);
  }

  /** Inserts an experiment; null if the name is taken. */
  async insertExperiment(
    tx: Transaction,
    experiment: { id: string; name: string; tags: Record<string, string> },
  ): Promise<ExperimentView | null> {
    const rows = await queryRows<ExperimentRow>(
      this.manager(tx),
      `INSERT INTO registry.experiments (id, name, tags) VALUES ($1, $2, $3)
       ON CONFLICT (name) DO NOTHING RETURNING *`,
      [experiment.id, experiment.name, JSON.stringify(experiment.tags)],
    );
    return rows.length ? toExperiment(rows[0]) : null;
  }

  async findExperiment(idOrName: string, tx?: Transaction): Promise<ExperimentView | null> {
    const rows = await queryRows<ExperimentRow>(
      this.manager(tx),
      `SELECT * FROM registry.experiments WHERE name = $1 OR id::text = $1 ORDER BY (name = $1) DESC LIMIT 1`,
      [idOrName],
    );
    return rows.length ? toExperiment(rows[0]) : null;
  }

  async listExperiments(offset: number, limit: number): Promise<ExperimentView[]> {
    const rows = await queryRows<ExperimentRow>(
      this.dataSource,
      `SELECT * FROM registry.experiments ORDER BY created_at, name OFFSET $1 LIMIT $2`,
      [offset, limit],
    );
    return rows.map(toExperiment);
  }

  /** Inserts a run unless its id exists (a trainer retrying); true when this call created it. */
  async insertRun(tx: Transaction, run: NewRun): Promise<boolean> {
    const rows: unknown[] = await this.manager(tx).query(
      `INSERT INTO registry.runs (id, experiment_id, parent_run_id, name, status, start_time, params, tags, dataset,
         dataset_version, backend, correlation_id)
       VALUES ($1, $2, $3, $4, $5, coalesce($6::timestamptz, now()), $7, $8, $9, $10, $11, $12)
       ON CONFLICT (id) DO NOTHING RETURNING id`,
      runValues(run),
    );
    return rows.length === 1;
  }

  /**
   * training.started: creates the run, or brings one created earlier (e.g. 'scheduled' over REST) to 'running' and
   * fills in what the event knows; a run already finished keeps its final status.
   */
  async upsertStartedRun(tx: Transaction, run: NewRun): Promise<void> {
    await this.manager(tx).query(
      `INSERT INTO registry.runs AS r (id, experiment_id, parent_run_id, name, status, start_time, params, tags, dataset,
         dataset_version, backend, correlation_id)
       VALUES ($1, $2, $3, $4, $5, coalesce($6::timestamptz, now()), $7, $8, $9, $10, $11, $12)
       ON CONFLICT (id) DO UPDATE SET
         status = CASE WHEN r.status IN ('scheduled', 'running') THEN 'running' ELSE r.status END,
         parent_run_id = coalesce(r.parent_run_id, EXCLUDED.parent_run_id),
         name = coalesce(r.name, EXCLUDED.name),
         start_time = EXCLUDED.start_time,
         params = r.params || EXCLUDED.params,
         tags = r.tags || EXCLUDED.tags,
         dataset = EXCLUDED.dataset,
         dataset_version = EXCLUDED.dataset_version,
         backend = EXCLUDED.backend,
         correlation_id = coalesce(r.correlation_id, EXCLUDED.correlation_id)`,
      runValues({ ...run, status: 'running' }),
    );
  }

  async runExists(tx: Transaction, id: string, lock = false): Promise<boolean> {
    const rows: unknown[] = await this.manager(tx).query(
      `SELECT id FROM registry.runs WHERE id = $1 ${lock ? 'FOR UPDATE' : ''}`,
      [id],
    );
    return rows.length === 1;
  }

  /**
   * Serialises the transactions applying one run's events (a transaction-scoped advisory lock on the run id), so an
   * event parked for a run that does not exist yet and the training.started that creates it cannot miss each other.
   */
  async lockRunEvents(tx: Transaction, runId: string): Promise<void> {
    await this.manager(tx).query(`SELECT pg_advisory_xact_lock(hashtext('registry.run:' || $1))`, [runId]);
  }

  /** Keeps an event of a run that does not exist yet; drops events that waited longer than EARLY_EVENT_DAYS. */
  async parkEarlyEvent(tx: Transaction, runId: string, event: EarlyRunEvent): Promise<void> {
    const manager = this.manager(tx);
    await manager.query(
      `DELETE FROM registry.early_run_events WHERE received_at < now() - make_interval(days => $1)`,
      [EARLY_EVENT_DAYS],
    );
    await manager.query(`INSERT INTO registry.early_run_events (run_id, kind, payload) VALUES ($1, $2, $3)`, [
      runId,
      event.kind,
      JSON.stringify(event.payload),
    ]);
  }

  /** Removes and answers the events parked for a run, in the order they arrived. */
  async takeEarlyEvents(tx: Transaction, runId: string): Promise<EarlyRunEvent[]> {
    // A SELECT over the DELETE: TypeORM answers a bare DELETE … RETURNING with [rows, count].
    const rows = await queryRows<{ kind: EarlyRunEvent['kind']; payload: unknown }>(
      this.manager(tx),
      `WITH taken AS (DELETE FROM registry.early_run_events WHERE run_id = $1 RETURNING id, kind, payload)
       SELECT kind, payload FROM taken ORDER BY id`,
      [runId],
    );
    return rows.map((row) => ({ kind: row.kind, payload: row.payload }));
  }

  async findRun(id: string, tx?: Transaction): Promise<RunView | null> {
    const rows = await queryRows<RunRow>(this.manager(tx), `${RUN_SELECT} WHERE r.id = $1`, [id]);
    return rows.length ? toRun(rows[0]) : null;
  }

  /** Applies a patch; tags are merged; a final status without an end time ends the run now. */
  async updateRun(tx: Transaction, id: string, patch: RunPatch): Promise<void> {
    await this.manager(tx).query(
      `UPDATE registry.runs SET
         status = coalesce($2, status),
         tags = tags || coalesce($3::jsonb, '{}'::jsonb),
         end_time = CASE
           WHEN $4::timestamptz IS NOT NULL THEN $4::timestamptz
           WHEN $2 IN ('finished', 'failed', 'killed') THEN coalesce(end_time, now())
           ELSE end_time END,
         error = coalesce($5, error)
       WHERE id = $1`,
      [
        id,
        patch.status ?? null,
        patch.tags ? JSON.stringify(patch.tags) : null,
        patch.endTime ?? null,
        patch.error ?? null,
      ],
    );
  }

  async insertMetrics(tx: Transaction, runId: string, points: MetricPoint[]): Promise<void> {
    const BATCH = 1000;
    for (let start = 0; start < points.length; start += BATCH) {
      const params = new SqlParams();
      const values = points
        .slice(start, start + BATCH)
        .map(
          (p) =>
            `(${params.add(runId, 'uuid')}, ${params.add(p.key)}, ${params.add(p.value, 'double precision')}, ` +
            `${params.add(p.step, 'bigint')}, coalesce(${params.add(p.timestamp ?? null, 'timestamptz')}, now()))`,
        );
      await this.manager(tx).query(
        `INSERT INTO registry.metrics (run_id, key, value, step, timestamp) VALUES ${values.join(', ')}`,
        params.values,
      );
    }
  }

  async maxStep(tx: Transaction, runId: string): Promise<number> {
    const [row] = await queryRows<{ step: number }>(
      this.manager(tx),
      `SELECT coalesce(max(step), 0)::int AS step FROM registry.metrics WHERE run_id = $1`,
      [runId],
    );
    return Number(row.step);
  }

  async metricHistory(
    runId: string,
    key: string,
  ): Promise<{ value: number; step: number; timestamp: string }[]> {
    const rows = await queryRows<{ value: number; step: Int8; timestamp: Date }>(
      this.dataSource,
      `SELECT value, step, timestamp FROM registry.metrics WHERE run_id = $1 AND key = $2 ORDER BY step, timestamp, id`,
      [runId, key],
    );
    return rows.map((r) => ({ value: Number(r.value), step: Number(r.step), timestamp: iso(r.timestamp) }));
  }

  /** Runs matching the filter, in its order (then newest first); reads limit + 1 rows. */
  async searchRuns(search: RunSearch): Promise<RunView[]> {
    const params = new SqlParams();
    const experimentId = params.add(search.experimentId ?? null);
    const parentRunId = params.add(search.parentRunId ?? null);
    const where = filterSql(search.filter, params);
    const orderBy = orderBySql(search.orderBy, params);
    const rows = await queryRows<RunRow>(
      this.dataSource,
      `${RUN_SELECT}
       WHERE (${experimentId}::uuid IS NULL OR r.experiment_id = ${experimentId}::uuid)
         AND (${parentRunId}::uuid IS NULL OR r.parent_run_id = ${parentRunId}::uuid)
         AND ${where}
       ORDER BY ${orderBy ? `${orderBy}, ` : ''}r.start_time DESC, r.id
       OFFSET ${params.add(search.offset)} LIMIT ${params.add(search.limit + 1)}`,
      params.values,
    );
    return rows.map(toRun);
  }
}
