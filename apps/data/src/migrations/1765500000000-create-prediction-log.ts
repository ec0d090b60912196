import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The prediction log (predictions.logged from the gateways) and the labels that arrive later by prediction id.
 * Inputs are json (not jsonb) so the features keep the model's order in queries and CSV exports. Rows are keyed by their day (`day`, UTC) so retention deletes whole days through an index; labels live in their own
 * table so a label that arrives before its prediction is logged (or for a prediction not sampled) is still kept, and
 * joins it once it lands.
 */
export class CreatePredictionLog1765500000000 implements MigrationInterface {
  name = 'CreatePredictionLog1765500000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE data.prediction_log (
        prediction_id uuid PRIMARY KEY,
        day date NOT NULL,
        predicted_at timestamptz NOT NULL,
        model text NOT NULL,
        version integer NOT NULL,
        sha256 char(64) NOT NULL,
        inputs json NOT NULL,
        output jsonb NOT NULL,
        predicted_class text,
        predicted_value double precision,
        latency_ms real NOT NULL,
        key_name text,
        test_metrics jsonb
      )`);
    await runner.query(
      `CREATE INDEX prediction_log_model_time ON data.prediction_log (model, version, predicted_at, prediction_id)`,
    );
    await runner.query(`CREATE INDEX prediction_log_day ON data.prediction_log (day)`);
    await runner.query(`
      CREATE TABLE data.prediction_labels (
        prediction_id uuid PRIMARY KEY,
        label text NOT NULL,
        label_value double precision,
        labelled_at timestamptz NOT NULL DEFAULT now()
      )`);
    await runner.query(`CREATE INDEX prediction_labels_time ON data.prediction_labels (labelled_at)`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE data.prediction_labels`);
    await runner.query(`DROP TABLE data.prediction_log`);
  }
}
