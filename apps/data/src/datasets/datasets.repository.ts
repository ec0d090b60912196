import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { DatasetSchema } from '@sepal/contracts';
import { managerOf, queryRows, Transaction } from '@sepal/persistence';

export interface DatasetRecord {
  name: string;
  description: string;
  task: string;
  schema: DatasetSchema;
  createdAt: Date;
  versionCount: number;
  latestVersion: string | null;
}

/** A row of data.datasets with its version count and latest version id (char(64), blank-padded). */
interface DatasetListRow {
  name: string;
  description: string;
  task: string;
  schema: DatasetSchema;
  created_at: Date;
  version_count: number;
  latest: string | null;
}

/** The dataset records: created on first import, locked while a version is written, listed with their versions. */
@Injectable()
export class DatasetsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  private m(tx?: Transaction) {
    return managerOf(tx, this.dataSource);
  }

  /** Creates the dataset row on first use, then locks it: concurrent writers of one dataset take turns. */
  async ensureDatasetLocked(tx: Transaction, dataset: { name: string; description: string }): Promise<void> {
    await this.m(tx).query(
      `INSERT INTO data.datasets (name, description, task, schema) VALUES ($1, $2, '', '{}')
       ON CONFLICT (name) DO NOTHING`,
      [dataset.name, dataset.description],
    );
    await this.m(tx).query(`SELECT name FROM data.datasets WHERE name = $1 FOR UPDATE`, [dataset.name]);
  }

  async setDatasetSchema(tx: Transaction, name: string, schema: DatasetSchema): Promise<void> {
    await this.m(tx).query(`UPDATE data.datasets SET schema = $2, task = $3 WHERE name = $1`, [
      name,
      JSON.stringify(schema),
      schema.task,
    ]);
  }

  async listDatasets(): Promise<DatasetRecord[]> {
    const rows = await queryRows<DatasetListRow>(
      this.dataSource,
      `SELECT d.*, (SELECT count(*)::int FROM data.dataset_versions v WHERE v.dataset = d.name) AS version_count,
              (SELECT v.id FROM data.dataset_versions v WHERE v.dataset = d.name ORDER BY v.seq DESC LIMIT 1) AS latest
       FROM data.datasets d ORDER BY d.name`,
    );
    return rows
      .filter((r) => r.version_count > 0)
      .map((r) => ({
        name: r.name,
        description: r.description,
        task: r.task,
        schema: r.schema,
        createdAt: new Date(r.created_at),
        versionCount: r.version_count,
        latestVersion: r.latest ? String(r.latest).trim() : null,
      }));
  }

  async datasetExists(name: string): Promise<boolean> {
    const rows: unknown[] = await this.dataSource.query(`SELECT 1 FROM data.datasets WHERE name = $1`, [
      name,
    ]);
    return rows.length > 0;
  }
}
