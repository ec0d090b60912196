import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { SplitName } from '@sepal/ml';
import { Int8, managerOf, queryRows, Transaction } from '@sepal/persistence';
import { LIVE_AT } from '../datasets/rows.sql';
import type { ImageBlobs } from './import/image-import-protocol';

export interface StoredImage {
  height: number;
  width: number;
  channels: number;
  pixels: Uint8Array;
}

/** A version, as the reads of its images need it. */
export interface VersionAt {
  dataset: string;
  seq: number;
}

/** A bytea column: a Uint8Array (node-postgres: a Buffer); hex text (`\x0102...`) is read too. */
const bytesOf = (value: Uint8Array | string): Uint8Array =>
  value instanceof Uint8Array ? value : new Uint8Array(Buffer.from(String(value).replace(/^\\x/, ''), 'hex'));

/**
 * The pixels of image datasets, stored once per dataset under their content hash (data.images), and the reads that
 * join them to a version's rows (data.rows, whose one feature is that hash).
 */
@Injectable()
export class ImagesRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Stores images not stored yet, in the import's transaction (a refused import leaves none). */
  async insertBlobs(tx: Transaction, dataset: string, blobs: ImageBlobs): Promise<void> {
    if (!blobs.hashes.length) return;
    await managerOf(tx, this.dataSource).query(
      `INSERT INTO data.images (dataset, hash, height, width, channels, pixels)
       SELECT $1, t.h, $2, $3, $4, decode(t.p, 'base64') FROM unnest($5::text[], $6::text[]) AS t(h, p)
       ON CONFLICT (dataset, hash) DO NOTHING`,
      [dataset, blobs.shape.height, blobs.shape.width, blobs.shape.channels, blobs.hashes, blobs.pixels],
    );
  }

  /**
   * One page of a version's images in row order (keyset by row id): label, content hash and pixels of each, at most
   * `limit` rows. Returns the cursor of the next page, or null.
   */
  async page(
    version: VersionAt,
    split: SplitName | undefined,
    after: number,
    limit: number,
  ): Promise<{ labels: number[]; hashes: string[]; pixels: Uint8Array[]; nextCursor: number | null }> {
    const rows = await queryRows<{ row_id: Int8; label: number; hash: string; pixels: Uint8Array }>(
      this.dataSource,
      `SELECT r.row_id, r.label, i.hash, i.pixels FROM data.rows r
       JOIN data.images i ON i.dataset = r.dataset AND i.hash = r.features->>0
       WHERE r.${LIVE_AT('$1', '$2')} AND r.row_id > $3 AND ($4::text IS NULL OR r.split = $4)
       ORDER BY r.row_id LIMIT $5`,
      [version.dataset, version.seq, after, split ?? null, limit + 1],
    );
    const page = rows.slice(0, limit);
    return {
      labels: page.map((r) => Number(r.label)),
      hashes: page.map((r) => r.hash),
      pixels: page.map((r) => bytesOf(r.pixels)),
      nextCursor: rows.length > limit ? Number(page[page.length - 1].row_id) : null,
    };
  }

  /** The first `perClass` images of each class of a version (in row order): hash and split. */
  async samples(
    version: VersionAt,
    perClass: number,
    split: SplitName | undefined,
  ): Promise<{ label: number; hash: string; split: SplitName }[]> {
    const rows = await queryRows<{ label: number; hash: string; split: SplitName }>(
      this.dataSource,
      `SELECT label, hash, split FROM (
         SELECT r.label::int AS label, r.features->>0 AS hash, r.split,
                row_number() OVER (PARTITION BY r.label ORDER BY r.row_id) AS n
         FROM data.rows r WHERE r.${LIVE_AT('$1', '$2')} AND ($4::text IS NULL OR r.split = $4)) s
       WHERE n <= $3 ORDER BY label, n`,
      [version.dataset, version.seq, perClass, split ?? null],
    );
    return rows.map((r) => ({ label: Number(r.label), hash: String(r.hash), split: r.split }));
  }

  async image(dataset: string, hash: string): Promise<StoredImage | null> {
    const rows = await queryRows<{ height: number; width: number; channels: number; pixels: Uint8Array }>(
      this.dataSource,
      `SELECT height, width, channels, pixels FROM data.images WHERE dataset = $1 AND hash = $2`,
      [dataset, hash],
    );
    if (!rows.length) return null;
    const [r] = rows;
    return {
      height: Number(r.height),
      width: Number(r.width),
      channels: Number(r.channels),
      pixels: bytesOf(r.pixels),
    };
  }
}
