import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Versions store what changed. Every row lives once in data.rows with the version (sequence number) that added it
 * and the one that removed it; a version's rows are those added at or before it and not removed at or before it.
 * Each row carries the SHA-256 digest of its canonical form, and each version the sum of its rows' digests
 * (mod 2^256), so a child's content hash follows from its parent's and the rows that changed.
 *
 * Cells become JSON (numbers, strings of categorical columns, null for missing), labels double precision (a class
 * index or a regression target). Existing full-copy versions are converted row for row and keep their ids.
 */
export class DeltaVersions1764500000000 implements MigrationInterface {
  name = 'DeltaVersions1764500000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE data.dataset_versions ADD COLUMN content_sum char(64) NULL`);
    await runner.query(`ALTER TABLE data.dataset_versions ADD COLUMN stats jsonb NULL`);
    await runner.query(`
      CREATE TABLE data.rows (
        dataset text NOT NULL REFERENCES data.datasets(name),
        row_id bigint GENERATED ALWAYS AS IDENTITY,
        row_key text NOT NULL,
        features jsonb NOT NULL,
        label double precision NOT NULL,
        split text NOT NULL CHECK (split IN ('train', 'test')),
        origin text NOT NULL,
        digest bytea NOT NULL,
        added_seq integer NOT NULL,
        removed_seq integer NULL,
        PRIMARY KEY (dataset, row_id)
      )`);
    const versions: { id: string; dataset: string; seq: number }[] = await runner.query(
      `SELECT id, dataset, seq FROM data.dataset_versions ORDER BY dataset, seq`,
    );
    for (const v of versions) {
      await runner.query(
        `UPDATE data.rows r SET removed_seq = $3
         WHERE r.dataset = $1 AND r.removed_seq IS NULL AND NOT EXISTS (
           SELECT 1 FROM data.dataset_rows o
           WHERE o.version_id = $2 AND o.row_key = r.row_key AND o.split = r.split)`,
        [v.dataset, v.id, v.seq],
      );
      await runner.query(
        `INSERT INTO data.rows (dataset, row_key, features, label, split, origin, digest, added_seq)
         SELECT $1, o.row_key, to_jsonb(o.features), o.label::double precision, o.split, o.origin,
                sha256(convert_to(o.row_key || E'\\t' || to_jsonb(o.features)::text || E'\\t'
                  || (o.label::double precision)::text || E'\\t' || o.split, 'UTF8')),
                $3
         FROM data.dataset_rows o
         WHERE o.version_id = $2 AND NOT EXISTS (
           SELECT 1 FROM data.rows r
           WHERE r.dataset = $1 AND r.removed_seq IS NULL AND r.row_key = o.row_key AND r.split = o.split)
         ORDER BY o.ordinal`,
        [v.dataset, v.id, v.seq],
      );
      const [sums] = await runner.query(
        `SELECT ${[0, 1, 2, 3, 4, 5, 6, 7]
          .map(
            (w) =>
              `coalesce(sum(('x' || encode(substring(digest from ${w * 4 + 1} for 4), 'hex'))::bit(32)::bigint), 0)::text AS w${w}`,
          )
          .join(', ')}
         FROM data.rows WHERE dataset = $1 AND added_seq <= $2 AND (removed_seq IS NULL OR removed_seq > $2)`,
        [v.dataset, v.seq],
      );
      let total = 0n;
      for (let w = 0; w < 8; w++) total += BigInt(sums[`w${w}`]) << BigInt(32 * (7 - w));
      const hex = (total % (1n << 256n)).toString(16).padStart(64, '0');
      await runner.query(`UPDATE data.dataset_versions SET content_sum = $2 WHERE id = $1`, [v.id, hex]);
    }
    await runner.query(`DROP TABLE data.dataset_rows`);
    await runner.query(`ALTER TABLE data.feedback ALTER COLUMN features TYPE jsonb USING to_jsonb(features)`);
    await runner.query(`ALTER TABLE data.feedback ALTER COLUMN label TYPE double precision`);
  }

  async down(): Promise<void> {
    throw new Error('DeltaVersions1764500000000 cannot be undone: restore a backup instead');
  }
}
