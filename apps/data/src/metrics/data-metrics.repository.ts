import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { queryRows } from '@sepal/persistence';

export interface LatestVersionRows {
  dataset: string;
  versionId: string;
  trainRows: number;
  testRows: number;
}

export interface FeedbackCounts {
  dataset: string;
  /** Every feedback row ever stored for the dataset (committed or not). */
  received: number;
  /** Stored rows not yet committed into a version. */
  pending: number;
}

export interface DataMetricsSnapshot {
  versions: LatestVersionRows[];
  feedback: FeedbackCounts[];
}

/** What the data metrics read on each scrape; DataMetricsRepository in the app, a stub in unit tests. */
export interface DataMetricsSource {
  snapshot(): Promise<DataMetricsSnapshot>;
}

/** The two small aggregate queries behind the data service's Prometheus gauges. */
@Injectable()
export class DataMetricsRepository implements DataMetricsSource {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async snapshot(): Promise<DataMetricsSnapshot> {
    // id is char(64), blank-padded.
    const versions = await queryRows<{ dataset: string; id: string; train_rows: number; test_rows: number }>(
      this.dataSource,
      `SELECT DISTINCT ON (dataset) dataset, id, train_rows, test_rows
         FROM data.dataset_versions
        ORDER BY dataset, seq DESC`,
    );
    const feedback = await queryRows<{ dataset: string; received: number; pending: number }>(
      this.dataSource,
      `SELECT d.name AS dataset,
              count(f.id)::int AS received,
              (count(f.id) FILTER (WHERE f.committed_version IS NULL))::int AS pending
         FROM data.datasets d
         LEFT JOIN data.feedback f ON f.dataset = d.name
        GROUP BY d.name`,
    );
    return {
      versions: versions.map((r) => ({
        dataset: String(r.dataset),
        versionId: String(r.id).trim(),
        trainRows: Number(r.train_rows),
        testRows: Number(r.test_rows),
      })),
      feedback: feedback.map((r) => ({
        dataset: String(r.dataset),
        received: Number(r.received),
        pending: Number(r.pending),
      })),
    };
  }
}
