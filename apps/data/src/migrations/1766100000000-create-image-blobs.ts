import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Image datasets: a row's one feature is the SHA-256 of its image as model input (shape and pixels), and the pixels
 * live once per dataset in data.images, keyed by that hash. Rows, versions, splits and lineage are the tables'.
 */
export class CreateImageBlobs1766100000000 implements MigrationInterface {
  name = 'CreateImageBlobs1766100000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE data.images (
        dataset text NOT NULL REFERENCES data.datasets(name),
        hash text NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$'),
        height integer NOT NULL CHECK (height > 0),
        width integer NOT NULL CHECK (width > 0),
        channels integer NOT NULL CHECK (channels IN (1, 3)),
        pixels bytea NOT NULL,
        PRIMARY KEY (dataset, hash)
      )`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE data.images`);
  }
}
