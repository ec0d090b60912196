import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { LoggedPrediction, PredictionLogEntry } from '@sepal/contracts';
import { queryChanged, queryRows } from '@sepal/persistence';

/** A model version's confusion counts (classifier) in the quality window. */
export interface ConfusionCount {
  model: string;
  version: number;
  predicted: string;
  actual: string;
  count: number;
}

/** A model version's error sums (regressor) in the quality window. */
export interface ErrorSums {
  model: string;
  version: number;
  count: number;
  squared: number;
  absolute: number;
}

export interface LogFilter {
  model: string;
  version?: number;
  from?: string;
  to?: string;
  after?: string;
  limit: number;
}

/** A row of data.prediction_log with its label's columns (all null when it has none). */
interface EntryRow {
  prediction_id: string;
  model: string;
  version: number;
  sha256: string;
  inputs: PredictionLogEntry['inputs'];
  output: PredictionLogEntry['output'];
  latency_ms: number;
  key_name: string | null;
  predicted_at: Date;
  label: string | null;
  label_value: number | null;
  labelled_at: Date | null;
}

const toEntry = (r: EntryRow): PredictionLogEntry => ({
  predictionId: r.prediction_id,
  model: r.model,
  version: Number(r.version),
  sha256: r.sha256,
  inputs: r.inputs,
  output: r.output,
  latencyMs: Number(r.latency_ms),
  keyName: r.key_name ?? null,
  at: new Date(r.predicted_at).toISOString(),
  label: r.label_value !== null && r.label_value !== undefined ? Number(r.label_value) : (r.label ?? null),
  labelledAt: r.labelled_at ? new Date(r.labelled_at).toISOString() : null,
});

/** The prediction log and its labels (data.prediction_log, data.prediction_labels). */
@Injectable()
export class PredictionLogRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Stores logged predictions once each (a redelivered batch changes nothing); returns how many were new. */
  async insert(records: readonly LoggedPrediction[]): Promise<number> {
    const rows = await queryRows<{ prediction_id: string }>(
      this.dataSource,
      `INSERT INTO data.prediction_log
         (prediction_id, day, predicted_at, model, version, sha256, inputs, output, predicted_class, predicted_value,
          latency_ms, key_name, test_metrics)
       SELECT r.prediction_id, (r.predicted_at AT TIME ZONE 'UTC')::date, r.predicted_at, r.model, r.version, r.sha256,
              r.inputs, r.output, r.output->>'class', (r.output->>'value')::double precision, r.latency_ms, r.key_name,
              r.test_metrics
         FROM json_to_recordset($1::json) AS r(
           prediction_id uuid, predicted_at timestamptz, model text, version integer, sha256 text, inputs json,
           output jsonb, latency_ms real, key_name text, test_metrics jsonb)
       ON CONFLICT (prediction_id) DO NOTHING
       RETURNING prediction_id`,
      [
        JSON.stringify(
          records.map((record) => ({
            prediction_id: record.predictionId,
            predicted_at: record.at,
            model: record.model,
            version: record.version,
            sha256: record.sha256,
            inputs: record.inputs,
            output: record.output,
            latency_ms: record.latencyMs,
            key_name: record.keyName,
            test_metrics: record.testMetrics ?? null,
          })),
        ),
      ],
    );
    return rows.length;
  }

  /** Records (or corrects) the label of a prediction, logged yet or not. */
  async label(predictionId: string, label: string, value: number | null): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO data.prediction_labels (prediction_id, label, label_value) VALUES ($1, $2, $3)
       ON CONFLICT (prediction_id) DO UPDATE SET label = excluded.label, label_value = excluded.label_value,
         labelled_at = now()`,
      [predictionId, label, value],
    );
  }

  /** A model's logged predictions in a window, by prediction id (time order), after `after`, with their labels. */
  async list(filter: LogFilter): Promise<PredictionLogEntry[]> {
    const rows = await queryRows<EntryRow>(
      this.dataSource,
      `SELECT l.*, b.label, b.label_value, b.labelled_at
         FROM data.prediction_log l LEFT JOIN data.prediction_labels b USING (prediction_id)
        WHERE l.model = $1
          AND ($2::integer IS NULL OR l.version = $2)
          AND ($3::timestamptz IS NULL OR l.predicted_at >= $3)
          AND ($4::timestamptz IS NULL OR l.predicted_at < $4)
          AND ($5::uuid IS NULL OR l.prediction_id > $5)
        ORDER BY l.prediction_id
        LIMIT $6`,
      [
        filter.model,
        filter.version ?? null,
        filter.from ?? null,
        filter.to ?? null,
        filter.after ?? null,
        filter.limit,
      ],
    );
    return rows.map(toEntry);
  }

  /** Deletes the days before `day` (YYYY-MM-DD, UTC) and labels older than it; returns the predictions deleted. */
  async deleteBefore(day: string): Promise<number> {
    const { affected } = await queryChanged(
      this.dataSource,
      `DELETE FROM data.prediction_log WHERE day < $1::date`,
      [day],
    );
    await this.dataSource.query(`DELETE FROM data.prediction_labels WHERE labelled_at < $1::date`, [day]);
    return affected;
  }

  /** Classifier confusion counts of labelled predictions made since `since`, per model version. */
  async confusion(since: Date, model?: string): Promise<ConfusionCount[]> {
    const rows = await queryRows<{
      model: string;
      version: number;
      predicted: string;
      actual: string;
      count: number;
    }>(
      this.dataSource,
      `SELECT l.model, l.version, l.predicted_class AS predicted, b.label AS actual, count(*)::integer AS count
         FROM data.prediction_log l JOIN data.prediction_labels b USING (prediction_id)
        WHERE l.predicted_at >= $1 AND l.predicted_class IS NOT NULL AND ($2::text IS NULL OR l.model = $2)
        GROUP BY l.model, l.version, l.predicted_class, b.label`,
      [since.toISOString(), model ?? null],
    );
    return rows.map((r) => ({
      model: r.model,
      version: Number(r.version),
      predicted: r.predicted,
      actual: r.actual,
      count: Number(r.count),
    }));
  }

  /** Regressor error sums of labelled predictions made since `since`, per model version. */
  async errors(since: Date, model?: string): Promise<ErrorSums[]> {
    // The sums are double precision, over labelled predictions with a value (never null in a group).
    const rows = await queryRows<{
      model: string;
      version: number;
      count: number;
      squared: number;
      absolute: number;
    }>(
      this.dataSource,
      `SELECT l.model, l.version, count(*)::integer AS count,
              sum((l.predicted_value - b.label_value) ^ 2) AS squared,
              sum(abs(l.predicted_value - b.label_value)) AS absolute
         FROM data.prediction_log l JOIN data.prediction_labels b USING (prediction_id)
        WHERE l.predicted_at >= $1 AND l.predicted_value IS NOT NULL AND b.label_value IS NOT NULL
          AND ($2::text IS NULL OR l.model = $2)
        GROUP BY l.model, l.version`,
      [since.toISOString(), model ?? null],
    );
    return rows.map((r) => ({
      model: r.model,
      version: Number(r.version),
      count: Number(r.count),
      squared: Number(r.squared),
      absolute: Number(r.absolute),
    }));
  }

  /** The latest test figures each model version logged since `since`. */
  async testFigures(
    since: Date,
    model?: string,
  ): Promise<{ model: string; version: number; figures: Record<string, number> }[]> {
    const rows = await queryRows<{ model: string; version: number; test_metrics: Record<string, number> }>(
      this.dataSource,
      `SELECT DISTINCT ON (model, version) model, version, test_metrics
         FROM data.prediction_log
        WHERE predicted_at >= $1 AND test_metrics IS NOT NULL AND ($2::text IS NULL OR model = $2)
        ORDER BY model, version, predicted_at DESC`,
      [since.toISOString(), model ?? null],
    );
    return rows.map((r) => ({
      model: r.model,
      version: Number(r.version),
      figures: r.test_metrics,
    }));
  }
}
