import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { DatasetSchema } from '@sepal/contracts';
import { managerOf, Transaction } from '@sepal/persistence';

export interface DatasetRecord {
  name: string;
  description: string;
  task: string;
  schema: DatasetSchema;
  createdAt: Date;
  versionCount: number;
  latestVersion: string | null;
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
    const rows: Record<string, unknown>[] = await this.dataSource.query(
      `SELECT d.*, (SELECT count(*)::int FROM data.dataset_versions v WHERE v.dataset = d.name) AS version_count,
              (SELECT v.id FROM data.dataset_versions v WHERE v.dataset = d.name ORDER BY v.seq DESC LIMIT 1) AS latest
       FROM data.datasets d ORDER BY d.name`,
    );
    return rows
      .filter((r) => (r.version_count as number) > 0)
      .map((r) => ({
        name: r.name as string,
        description: r.description as string,
        task: r.task as string,
        schema: r.schema as DatasetSchema,
        createdAt: new Date(r.created_at as string),
        versionCount: r.version_count as number,
        latestVersion: r.latest ? String(r.latest).trim() : null,
      }));
  }

  async datasetExists(name: string): Promise<boolean> {
    const rows = await this.dataSource.query(`SELECT 1 FROM data.datasets WHERE name = $1`, [name]);
    return rows.length > 0;
  }
}
