import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Who produced a model: the key that uploaded an artifact (once checked as a valid ONNX model) and the key that
 * registered a version. Null for rows written before this, and for a version created from a model.registered event.
 */
export class ArtifactUploader1765100001000 implements MigrationInterface {
  name = 'ArtifactUploader1765100001000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE registry.artifacts ADD COLUMN uploaded_by text NULL`);
    await runner.query(`ALTER TABLE registry.model_versions ADD COLUMN registered_by text NULL`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE registry.model_versions DROP COLUMN IF EXISTS registered_by`);
    await runner.query(`ALTER TABLE registry.artifacts DROP COLUMN IF EXISTS uploaded_by`);
  }
}
