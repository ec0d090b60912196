import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * data.rows keeps its rule that every row names an existing dataset, checked once per statement instead of once per
 * row. The foreign key ran its check for each inserted row: importing 1,000,000 rows spent more time in those checks
 * than in writing the rows. A statement-level trigger checks the distinct datasets of the inserted rows (and locks
 * them FOR KEY SHARE, as the foreign key did), and a trigger on data.datasets refuses to delete or rename a dataset
 * that rows still name.
 */
export class RowsDatasetCheckPerStatement1764700000000 implements MigrationInterface {
  name = 'RowsDatasetCheckPerStatement1764700000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE data.rows DROP CONSTRAINT rows_dataset_fkey`);
    await runner.query(`
      CREATE FUNCTION data.rows_name_datasets() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        missing text;
      BEGIN
        PERFORM 1 FROM data.datasets d WHERE d.name IN (SELECT dataset FROM added) FOR KEY SHARE OF d;
        SELECT a.dataset INTO missing FROM (SELECT DISTINCT dataset FROM added) a
          WHERE NOT EXISTS (SELECT 1 FROM data.datasets d WHERE d.name = a.dataset) LIMIT 1;
        IF FOUND THEN
          RAISE EXCEPTION 'insert on table "rows" violates the rule that rows name a dataset: no dataset "%"', missing
            USING ERRCODE = 'foreign_key_violation';
        END IF;
        RETURN NULL;
      END
      $$`);
    await runner.query(`
      CREATE TRIGGER rows_name_datasets AFTER INSERT ON data.rows
      REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION data.rows_name_datasets()`);
    await runner.query(`
      CREATE FUNCTION data.rows_keep_dataset() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.dataset IS DISTINCT FROM OLD.dataset THEN
          PERFORM 1 FROM data.datasets d WHERE d.name = NEW.dataset FOR KEY SHARE;
        END IF;
        IF NEW.dataset IS DISTINCT FROM OLD.dataset AND NOT FOUND THEN
          RAISE EXCEPTION 'update on table "rows" violates the rule that rows name a dataset: no dataset "%"',
            NEW.dataset USING ERRCODE = 'foreign_key_violation';
        END IF;
        RETURN NEW;
      END
      $$`);
    await runner.query(`
      CREATE TRIGGER rows_keep_dataset BEFORE UPDATE OF dataset ON data.rows
      FOR EACH ROW EXECUTE FUNCTION data.rows_keep_dataset()`);
    await runner.query(`
      CREATE FUNCTION data.datasets_keep_rows() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF (TG_OP = 'DELETE' OR NEW.name IS DISTINCT FROM OLD.name)
           AND EXISTS (SELECT 1 FROM data.rows r WHERE r.dataset = OLD.name) THEN
          RAISE EXCEPTION 'dataset "%" still has rows in data.rows', OLD.name
            USING ERRCODE = 'foreign_key_violation';
        END IF;
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
      END
      $$`);
    await runner.query(`
      CREATE TRIGGER datasets_keep_rows BEFORE DELETE OR UPDATE OF name ON data.datasets
      FOR EACH ROW EXECUTE FUNCTION data.datasets_keep_rows()`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TRIGGER datasets_keep_rows ON data.datasets`);
    await runner.query(`DROP FUNCTION data.datasets_keep_rows()`);
    await runner.query(`DROP TRIGGER rows_keep_dataset ON data.rows`);
    await runner.query(`DROP FUNCTION data.rows_keep_dataset()`);
    await runner.query(`DROP TRIGGER rows_name_datasets ON data.rows`);
    await runner.query(`DROP FUNCTION data.rows_name_datasets()`);
    await runner.query(
      `ALTER TABLE data.rows ADD CONSTRAINT rows_dataset_fkey FOREIGN KEY (dataset) REFERENCES data.datasets(name)`,
    );
  }
}
