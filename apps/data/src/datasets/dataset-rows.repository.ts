import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { FeatureCell } from '@sepal/contracts';
import { SplitName } from '@sepal/ml';
import { Int8, queryRows } from '@sepal/persistence';
import { cellsOf, LIVE_AT } from './rows.sql';

export interface RowPage {
  features: FeatureCell[][];
  labels: number[];
  keys: string[];
  splits: SplitName[];
  nextCursor: number | null;
}

export interface StoredRow {
  key: string;
  features: FeatureCell[];
  label: number;
  split: SplitName;
  origin: string;
}

/** The columns of data.rows these reads select (row_id, where selected, is a bigint). */
interface StoredRowRow {
  row_id: Int8;
  row_key: string;
  features: FeatureCell[] | string;
  label: number;
  split: SplitName;
  origin: string;
}

/** Reading a version's rows: pages of one split, the difference of two versions, what the storage holds. */
@Injectable()
export class DatasetRowsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Keyset pagination by row id over the version's rows, so any split of any version is read in bounded pages. */
  async rowPage(
    version: { dataset: string; seq: number },
    split: SplitName | undefined,
    after: number,
    limit: number,
  ): Promise<RowPage> {
    const rows = await queryRows<Omit<StoredRowRow, 'origin'>>(
      this.dataSource,
      `SELECT row_id, row_key, features, label, split FROM data.rows
       WHERE ${LIVE_AT('$1', '$2')} AND row_id > $3 AND ($4::text IS NULL OR split = $4)
       ORDER BY row_id LIMIT $5`,
      [version.dataset, version.seq, after, split ?? null, limit + 1],
    );
    const page = rows.slice(0, limit);
    return {
      features: page.map((r) => cellsOf(r.features)),
      labels: page.map((r) => Number(r.label)),
      keys: page.map((r) => r.row_key),
      splits: page.map((r) => r.split),
      nextCursor: rows.length > limit ? Number(page[page.length - 1].row_id) : null,
    };
  }

  /** Rows in `to` and not in `from` (added), and the reverse (removed): counts and the first `limit` of each. */
  async diffRows(
    dataset: string,
    from: number,
    to: number,
    limit: number,
  ): Promise<{
    added: StoredRow[];
    removed: StoredRow[];
    addedCount: number;
    removedCount: number;
    moved: number;
  }> {
    const only = (p: string, a: string, b: string) =>
      `${p}dataset = $1 AND ${p}added_seq <= ${a} AND (${p}removed_seq IS NULL OR ${p}removed_seq > ${a})
       AND NOT (${p}added_seq <= ${b} AND (${p}removed_seq IS NULL OR ${p}removed_seq > ${b}))`;
    const pick = async (a: string, b: string) => {
      const rows = await queryRows<Omit<StoredRowRow, 'row_id'>>(
        this.dataSource,
        `SELECT row_key, features, label, split, origin FROM data.rows WHERE ${only('', a, b)}
         ORDER BY row_id LIMIT $4`,
        [dataset, from, to, limit],
      );
      const [count] = await queryRows<{ n: number }>(
        this.dataSource,
        `SELECT count(*)::int AS n FROM data.rows WHERE ${only('', a, b)}`,
        [dataset, from, to],
      );
      return { rows: rows.map(toStoredRow), count: count.n };
    };
    const added = await pick('$3', '$2');
    const removed = await pick('$2', '$3');
    const [moved] = await queryRows<{ n: number }>(
      this.dataSource,
      `SELECT count(*)::int AS n FROM data.rows a
       JOIN data.rows b ON b.dataset = a.dataset AND b.row_key = a.row_key AND b.split <> a.split
       WHERE ${only('a.', '$3', '$2')} AND ${only('b.', '$2', '$3')}`,
      [dataset, from, to],
    );
    return {
      added: added.rows,
      removed: removed.rows,
      addedCount: added.count,
      removedCount: removed.count,
      moved: moved.n,
    };
  }

  /** Rows of the data.rows table for a dataset (all versions): what the storage holds. */
  async storedRowCount(dataset: string): Promise<number> {
    const [row] = await queryRows<{ n: number }>(
      this.dataSource,
      `SELECT count(*)::int AS n FROM data.rows WHERE dataset = $1`,
      [dataset],
    );
    return row.n;
  }
}

function toStoredRow(r: Omit<StoredRowRow, 'row_id'>): StoredRow {
  return {
    key: r.row_key,
    features: cellsOf(r.features),
    label: Number(r.label),
    split: r.split,
    origin: r.origin,
  };
}
