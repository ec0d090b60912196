import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { managerOf, queryRows, Transaction } from '@sepal/persistence';

/** The row key of a logged prediction exported into a dataset. */
export const predictionRowKey = (predictionId: string) => `prediction:${predictionId}`;

/** What an export of the prediction log asks of the dataset's storage. */
@Injectable()
export class PredictionExportRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * The prediction ids among `ids` the dataset already holds: as a live exported row (an earlier export), or as a
   * feedback sample that judged that prediction (pending or committed). Inside the version's transaction, after the
   * dataset lock, so two exports of one window never both write a prediction.
   */
  async alreadyInDataset(tx: Transaction, dataset: string, ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows = await queryRows<{ id: string }>(
      managerOf(tx, this.dataSource),
      `SELECT substr(r.row_key, 12) AS id FROM data.rows r
        WHERE r.dataset = $1 AND r.removed_seq IS NULL AND r.row_key = ANY($2::text[])
       UNION
       SELECT f.prediction_id::text AS id FROM data.feedback f
        WHERE f.dataset = $1 AND f.prediction_id = ANY($3::uuid[])`,
      [dataset, ids.map(predictionRowKey), ids],
    );
    return new Set(rows.map((r) => r.id));
  }
}
